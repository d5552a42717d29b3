// The backup figures for `npm run bench` (bench/run.ts calls benchBackup): a Postgres of BENCH_BACKUP_MB
// (default 1024) MB of table data, backed up with dropyard's backup.sh (pg_dump -Fc into restic, to a host
// directory, read back and verified, forget --prune) and restored with restore.sh into a second database,
// against plain pg_dump -Fc (to nowhere) and plain pg_dump -Fc | pg_restore into a third, in the same run.
//
//   backup_db_mb                 the database's size (pg_database_size), the MB in the MB/s below
//   backup_seconds, backup_mb_per_s          backup.sh, one destination
//   backup_stored_mb             the restic repository on disk after that one backup
//   restore_seconds, restore_mb_per_s        restore.sh --database <another>
//   plain_dump_seconds           docker exec pg_dump -Fc | wc -c (pg_dump's default compression, gzip level 6)
//   own_dump_seconds             docker exec pg_dump -Fc -Z zstd:1 | wc -c: backup.sh's dump, without restic
//   plain_copy_seconds           docker exec pg_dump -Fc | docker exec -i pg_restore into another database
//   backup_throughput_ratio      plain_dump_seconds / backup_seconds (target >= 0.8)
//   backup_overhead_ratio        own_dump_seconds / backup_seconds: the dump's share of the backup (restic storing,
//                                reading back and verifying it, forget --prune: the rest)
//   restore_throughput_ratio     plain_copy_seconds / restore_seconds (target >= 0.8)
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { down, up } from "../sandbox";

const STACK_DIR = join(__dirname, "backup-stack");
const CONTAINER = "bench-pg";
const DB = "bench_pg";

type Result = (name: string, value: number) => void;

function sh(script: string): void {
    const r = spawnSync("bash", ["-c", script], { encoding: "utf8", maxBuffer: 1 << 26 });
    if (r.status !== 0)
        throw new Error(`bench backup: ${script.slice(0, 80)}… failed (${r.status}): ${r.stderr.slice(-400)}`);
}

function timed(script: string): number {
    const t = process.hrtime.bigint();
    sh(script);
    return Number(process.hrtime.bigint() - t) / 1e9;
}

function psql(sql: string, db = DB): string {
    return execFileSync(
        "docker",
        ["exec", CONTAINER, "psql", "-U", "app", "-d", db, "-v", "ON_ERROR_STOP=1", "-Atc", sql],
        { encoding: "utf8" },
    ).trim();
}

/** Measures backup and restore throughput; prints through `result`, progress through `progress`. */
export async function benchBackup(
    result: Result,
    progress: (line: string) => void,
    mb = Number(process.env.BENCH_BACKUP_MB ?? 1024),
): Promise<void> {
    const dataDir = mkdtempSync(join(tmpdir(), "dropyard-bench-backup-"));
    const state = join(dataDir, "backups", CONTAINER);
    const config = { dataDir, passphrase: "bench passphrase, not a secret" };
    try {
        await down(STACK_DIR, { purge: true, log: false }).catch(() => undefined);
        sh(`docker volume rm ${CONTAINER}-data >/dev/null 2>&1 || true`);
        await up(STACK_DIR, { config, log: false });
        // The repository exists before the measured backup, as it does for every nightly backup but the first:
        // `restic init` (a key derivation and a container start, about 4 s here) is not part of the throughput.
        sh(`bash ${state}/backup.sh >/dev/null`);
        // Rows of ~1 kB: text that compresses about as well as typical application data, plus an index.
        progress(`filling ${DB} with ${mb} MB`);
        psql("CREATE TABLE rows (id bigint PRIMARY KEY, body text)");
        const perBatch = 100_000;
        for (let done = 0; Number(psql("SELECT pg_database_size(current_database())")) < mb * 1e6; done += perBatch) {
            psql(`INSERT INTO rows SELECT i, repeat(md5(i::text), 8) || repeat(md5((i * 31)::text), 24)
                  FROM generate_series(${done + 1}, ${done + perBatch}) i`);
        }
        psql("VACUUM ANALYZE rows");
        const size = Number(psql("SELECT pg_database_size(current_database())")) / 1e6;
        result("backup_db_mb", size);

        progress("plain pg_dump, and pg_dump | pg_restore");
        const plainDump = timed(`docker exec ${CONTAINER} pg_dump -U app -d ${DB} -Fc | wc -c >/dev/null`);
        const ownDump = timed(`docker exec ${CONTAINER} pg_dump -U app -d ${DB} -Fc -Z zstd:1 | wc -c >/dev/null`);
        psql("CREATE DATABASE plain_copy", "postgres");
        const plainCopy = timed(
            `set -o pipefail; docker exec ${CONTAINER} pg_dump -U app -d ${DB} -Fc ` +
                `| docker exec -i ${CONTAINER} pg_restore -U app -d plain_copy --exit-on-error --single-transaction`,
        );
        psql("DROP DATABASE plain_copy", "postgres");

        progress("backup.sh, then restore.sh into another database");
        const backup = timed(`bash ${state}/backup.sh`);
        const stored =
            Number(execFileSync("du", ["-sb", join(state, "repository")], { encoding: "utf8" }).split("\t")[0]) / 1e6;
        psql("CREATE DATABASE restored", "postgres");
        const restore = timed(`bash ${state}/restore.sh --database restored`);
        const [a, b] = [
            psql("SELECT count(*), sum(length(body)) FROM rows"),
            psql("SELECT count(*), sum(length(body)) FROM rows", "restored"),
        ];
        if (a !== b) throw new Error(`bench backup: the restored rows differ (${a} vs ${b})`);

        result("backup_seconds", backup);
        result("backup_mb_per_s", size / backup);
        result("backup_stored_mb", stored);
        result("restore_seconds", restore);
        result("restore_mb_per_s", size / restore);
        result("plain_dump_seconds", plainDump);
        result("own_dump_seconds", ownDump);
        result("plain_copy_seconds", plainCopy);
        result("backup_throughput_ratio", plainDump / backup);
        result("backup_overhead_ratio", ownDump / backup);
        result("restore_throughput_ratio", plainCopy / restore);
    } finally {
        await down(STACK_DIR, { purge: true, log: false }).catch(e => progress(`down: ${(e as Error).message}`));
        sh(`docker volume rm ${CONTAINER}-data >/dev/null 2>&1 || true`);
        rmSync(dataDir, { recursive: true, force: true });
    }
}

// `npx tsx bench/backup.ts` runs this part alone.
if (require.main === module) {
    const round = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(n < 10 ? 3 : 1));
    benchBackup(
        (name, v) => process.stdout.write(`${name}=${round(v)}\n`),
        l => process.stderr.write(`bench: ${l}\n`),
    ).catch(e => {
        console.error(e);
        process.exit(1);
    });
}
