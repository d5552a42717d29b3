// Backups end to end (fixtures/backup-stack): a Postgres and a MariaDB on a local Host, backed up with
// restic (the stand-in restic/restic image) to a directory on the host and to a bucket on a real
// S3-compatible server (moto's server over https, playing DigitalOcean Spaces). Rows go in, the schedule is
// triggered (the job cron would run), a backup with a wrong access key fails visibly and records no
// success, the stack is taken down and the data volumes destroyed, the stack comes back empty, and the
// restore script brings back rows whose checksum equals the original; --force restores over a serving
// database, --into into another server; a bucket that does not answer, a full directory (a tiny tmpfs) and a
// stopped database each fail the job with the message in status.json, and the next run succeeds. Traffic:
// the engine's socket and the stack's own containers.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { down, up } from "../../sandbox";
import { docker, dockerResult, mariadb, psql } from "../support/docker";
import { until } from "../support/until";

const dockerOk = async (...args: string[]) => (await dockerResult(...args)).status === 0;

const FIXTURE = join(__dirname, "fixtures", "backup-stack");
const STACK = "e2e";
const S3 = "dropyard-e2e-s3";
const NET = "dropyard-e2e-s3net";
const LABEL = "dev.dropyard.test=backup";
const IMAGES = ["postgres:17", "mariadb:11", "nginx:1.30", "restic/restic:0.18.0", "dropyard-sandbox/s3:moto"];
const PG = "bk-pg";
const MARIA = "bk-maria";

const dataDir = mkdtempSync(join(tmpdir(), "dropyard-backup-e2e-"));
const log: string[] = [];
let config: Record<string, string> = {};
const figures: Record<string, unknown> = {};

function stateDir(db: string): string {
    return join(dataDir, "backups", db);
}

/** Runs a host script as cron would (no DOCKER_HOST: the engine's default socket). */
function runScript(
    db: string,
    script: string,
    ...args: string[]
): { status: number | null; stdout: string; stderr: string; seconds: number } {
    const t = Date.now();
    const r = spawnSync("bash", [join(stateDir(db), script), ...args], { encoding: "utf8" });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, seconds: (Date.now() - t) / 1000 };
}

interface Destination {
    lastSuccess: string | null;
    lastFailure: string | null;
    lastError: string | null;
    snapshot: string | null;
    bytes: number | null;
}
interface Status {
    destinations: Record<string, Destination>;
}
function status(db: string): Status {
    return JSON.parse(readFileSync(join(stateDir(db), "status.json"), "utf8")) as Status;
}

async function deploy(overrides: Record<string, string> = {}): Promise<number> {
    const t = Date.now();
    try {
        await up(FIXTURE, { stack: STACK, config: { ...config, ...overrides }, log: line => log.push(line) });
    } catch (e) {
        throw new Error(`${(e as Error).message}\n--- sandbox log (last lines) ---\n${log.slice(-30).join("\n")}`);
    }
    return (Date.now() - t) / 1000;
}

const PG_SUM = "SELECT md5(string_agg(t::text, ',' ORDER BY id)) || ':' || count(*) FROM items t";
const MARIA_SUM =
    "SET SESSION group_concat_max_len = 1073741824; SELECT CONCAT(MD5(GROUP_CONCAT(CONCAT_WS('|', id, name, HEX(payload), made) ORDER BY id SEPARATOR ',')), ':', COUNT(*)) FROM items";

async function fill(): Promise<void> {
    await psql(
        PG,
        "app",
        "bk_pg",
        "CREATE TABLE items (id int PRIMARY KEY, name text, payload bytea, made timestamptz);" +
            "INSERT INTO items SELECT i, 'item ' || i || ' é', decode(md5(i::text) || md5((i * 7)::text), 'hex'), timestamptz '2026-01-01' + i * interval '1 minute' FROM generate_series(1, 20000) i",
    );
    await mariadb(
        MARIA,
        "bk_maria",
        "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(100), payload VARBINARY(64), made DATETIME) CHARACTER SET utf8mb4;" +
            "INSERT INTO items SELECT seq, CONCAT('item ', seq, ' é'), UNHEX(CONCAT(MD5(seq), MD5(seq * 7))), TIMESTAMP('2026-01-01') + INTERVAL seq MINUTE FROM seq_1_to_20000",
    );
}

async function sums(): Promise<{ pg: string; maria: string }> {
    return { pg: await psql(PG, "app", "bk_pg", PG_SUM), maria: await mariadb(MARIA, "bk_maria", MARIA_SUM) };
}

describe("database backups with restic, to a host directory and an S3 bucket", { timeout: 900_000 }, () => {
    before(async () => {
        const missing = [];
        for (const i of IMAGES) if (!(await dockerOk("image", "inspect", i))) missing.push(i);
        if (missing.length)
            execFileSync(
                "bash",
                [
                    join(__dirname, "..", "..", "sandbox", "images", "build.sh"),
                    "postgres",
                    "mariadb",
                    "nginx",
                    "restic",
                    "s3",
                ],
                { stdio: "inherit" },
            );
        await down(FIXTURE, { stack: STACK, purge: true, log: false }).catch(() => undefined);
        for (const v of [`${PG}-data`, `${MARIA}-data`])
            if (await dockerOk("volume", "inspect", v)) await docker("volume", "rm", v);
        if (await dockerOk("container", "inspect", S3)) await docker("rm", "-f", S3);
        if (await dockerOk("network", "inspect", NET)) await docker("network", "rm", NET);
        await docker("network", "create", "--label", LABEL, NET);
        await docker(
            "run",
            "-d",
            "--name",
            S3,
            "--label",
            LABEL,
            "--network",
            NET,
            "--network-alias",
            "spaces",
            "dropyard-sandbox/s3:moto",
        );
        const creds = await until(
            "the S3 server's access key",
            60,
            () => {
                const r = spawnSync("docker", ["exec", S3, "cat", "/run/s3/credentials"], { encoding: "utf8" });
                return r.status === 0 ? r.stdout : undefined;
            },
            200,
        );
        const key = Object.fromEntries(
            creds
                .trim()
                .split("\n")
                .map(l => l.split(/=(.*)/s).slice(0, 2)),
        );
        config = {
            dataDir,
            s3Network: NET,
            passphrase: "correct horse battery staple 2026",
            s3KeyId: key.AWS_ACCESS_KEY_ID,
            s3Secret: key.AWS_SECRET_ACCESS_KEY,
            s3Ca: await docker("exec", S3, "cat", "/etc/s3/certs/ca.pem"),
        };
        figures.firstUpSeconds = await deploy();
    });

    after(async () => {
        console.log(`backup figures: ${JSON.stringify(figures)}`);
        await down(FIXTURE, { stack: STACK, purge: true, log: false }).catch(e =>
            console.error(`down: ${(e as Error).message}`),
        );
        for (const v of [`${PG}-data`, `${MARIA}-data`])
            if (await dockerOk("volume", "inspect", v)) await docker("volume", "rm", v);
        if (await dockerOk("container", "inspect", S3)) await docker("rm", "-f", S3);
        if (await dockerOk("network", "inspect", NET)) await docker("network", "rm", NET);
        rmSync(dataDir, { recursive: true, force: true });
    });

    let original: { pg: string; maria: string };

    test("the scheduled job backs both databases up to the directory and the bucket, verified", async () => {
        await fill();
        original = await sums();
        for (const db of [PG, MARIA]) {
            // What cron runs (the schedule, triggered): the job exits 0 only when every destination succeeded.
            const r = runScript(db, "backup.sh");
            assert.equal(r.status, 0, `${db}: ${r.stderr}${r.stdout}`);
            assert.match(r.stdout, /to directory: snapshot [0-9a-f]+, \d+ bytes, verified/);
            assert.match(r.stdout, /to bucket: snapshot [0-9a-f]+, \d+ bytes, verified/);
            const s = status(db);
            for (const d of ["directory", "bucket"]) {
                assert.ok(s.destinations[d].lastSuccess, `${db} ${d}: ${JSON.stringify(s)}`);
                assert.equal(s.destinations[d].lastFailure, null);
                assert.ok(Number(s.destinations[d].bytes) > 100_000, `${db} ${d} dump size ${s.destinations[d].bytes}`);
            }
            figures[`${db}BackupSeconds`] = r.seconds;
            figures[`${db}DumpBytes`] = s.destinations.bucket.bytes;
            // The repository on disk is restic's (encrypted), and the plain dump is nowhere on it.
            assert.ok(statSync(join(stateDir(db), "repository", "config")).isFile());
            const plain = spawnSync("grep", ["-rl", "item 1999", dataDir], { encoding: "utf8" });
            assert.equal(plain.stdout.trim(), "", "a plain-text copy of the data on the host");
        }
        const env = statSync(join(stateDir(PG), "env"));
        assert.equal(env.mode & 0o777, 0o600);
    });

    test("a backup with a wrong access key fails visibly and records no success", async () => {
        const good = status(PG).destinations.bucket;
        await deploy({ s3KeyId: "AKIAWRONGWRONGWRONG0" });
        const r = runScript(PG, "backup.sh");
        figures.wrongKeySeconds = r.seconds;
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /to bucket FAILED: .*(Access Denied|InvalidAccessKeyId|does not answer)/);
        const s = status(PG).destinations;
        assert.equal(s.bucket.lastSuccess, good.lastSuccess, "a failed backup recorded a success");
        assert.equal(s.bucket.snapshot, good.snapshot);
        assert.ok(s.bucket.lastFailure);
        assert.match(String(s.bucket.lastError), /Access Denied|does not answer/);
        // The directory is a separate destination: it still succeeds.
        assert.ok(s.directory.lastSuccess! > good.lastSuccess!);
        await deploy();
    });

    test("after the volumes are destroyed, restore brings back the same rows", async () => {
        await down(FIXTURE, { stack: STACK, log: line => log.push(line) });
        for (const v of [`${PG}-data`, `${MARIA}-data`]) await docker("volume", "rm", v);
        figures.redeploySeconds = await deploy();
        assert.equal(
            await psql(PG, "app", "bk_pg", "SELECT count(*) FROM pg_tables WHERE tablename = 'items'"),
            "0",
            "the volume was not fresh",
        );

        const pg = runScript(PG, "restore.sh", "--from", "bucket");
        assert.equal(pg.status, 0, pg.stderr + pg.stdout);
        figures.pgRestoreSeconds = pg.seconds;
        const maria = runScript(MARIA, "restore.sh");
        assert.equal(maria.status, 0, maria.stderr + maria.stdout);
        figures.mariaRestoreSeconds = maria.seconds;
        assert.deepEqual(await sums(), original);
    });

    test("restore refuses a database other sessions are connected to", async () => {
        const holder = spawnSync(
            "docker",
            ["exec", "-d", PG, "psql", "-U", "app", "-d", "bk_pg", "-c", "SELECT pg_sleep(120)"],
            { encoding: "utf8" },
        );
        assert.equal(holder.status, 0, holder.stderr);
        await until(
            "a second session on bk_pg",
            10,
            async () =>
                Number(
                    await psql(
                        PG,
                        "app",
                        "bk_pg",
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = 'bk_pg' AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
                    ),
                ) > 0,
            200,
        );
        const r = runScript(PG, "restore.sh");
        assert.equal(r.status, 1);
        assert.match(r.stderr, /serves traffic/);
        // Asked for explicitly, it restores over the serving database (the other session stays connected).
        await psql(PG, "app", "bk_pg", "DELETE FROM items WHERE id > 100");
        const forced = runScript(PG, "restore.sh", "--force");
        assert.equal(forced.status, 0, forced.stderr + forced.stdout);
        assert.equal((await sums()).pg, original.pg);
        await psql(
            PG,
            "app",
            "bk_pg",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'bk_pg' AND pid <> pg_backend_pid()",
        );
    });

    test("restore --into puts the rows into another server's new database", async () => {
        const other = "bk-pg-scratch";
        await docker(
            "run",
            "-d",
            "--name",
            other,
            "--label",
            LABEL,
            "-e",
            "POSTGRES_USER=app",
            "-e",
            "POSTGRES_PASSWORD=scratch",
            "-e",
            "POSTGRES_DB=scratch",
            "postgres:17",
        );
        try {
            await until(
                "the scratch server",
                60,
                async () =>
                    (await dockerResult("exec", other, "pg_isready", "-h", "127.0.0.1", "-U", "app")).status === 0,
                500,
            );
            const r = runScript(PG, "restore.sh", "--from", "bucket", "--into", other, "--database", "scratch");
            assert.equal(r.status, 0, r.stderr + r.stdout);
            assert.equal(await psql(other, "app", "scratch", PG_SUM), original.pg);
        } finally {
            await docker("rm", "-f", other);
        }
    });

    test("failures are recorded with their message, the job exits non-zero, and the next run succeeds", async () => {
        const before = { pg: status(PG).destinations, maria: status(MARIA).destinations };
        // The bucket unreachable (its server off the network) and the directory full (a 256 kB tmpfs over it).
        const repo = join(stateDir(PG), "repository");
        await docker("network", "disconnect", NET, S3);
        execFileSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", repo]);
        let r;
        try {
            r = runScript(PG, "backup.sh");
        } finally {
            execFileSync("umount", [repo]);
            await docker("network", "connect", "--alias", "spaces", NET, S3);
        }
        figures.unreachableAndFullSeconds = r.seconds;
        assert.equal(r.status, 1, r.stdout + r.stderr);
        let s = status(PG).destinations;
        assert.match(String(s.directory.lastError), /no space left on device/i);
        assert.match(String(s.bucket.lastError), /does not answer|no such host|dial tcp|connection refused|timeout/i);
        for (const d of ["directory", "bucket"]) {
            assert.equal(s[d].lastSuccess, before.pg[d].lastSuccess, `${d}: a failed backup recorded a success`);
            assert.ok(s[d].lastFailure! > (before.pg[d].lastFailure ?? ""), `${d}: no failure recorded`);
        }
        // The database down: the dump fails for both destinations.
        await docker("stop", MARIA);
        try {
            r = runScript(MARIA, "backup.sh");
        } finally {
            await docker("start", MARIA);
        }
        assert.equal(r.status, 1, r.stdout + r.stderr);
        s = status(MARIA).destinations;
        for (const d of ["directory", "bucket"]) {
            assert.match(String(s[d].lastError), /dump failed|is not running/, d);
            assert.equal(s[d].lastSuccess, before.maria[d].lastSuccess);
        }
        await until(
            "MariaDB back",
            90,
            async () => (await dockerResult("exec", MARIA, "healthcheck.sh", "--connect")).status === 0,
            500,
        );
        // Everything back: the next run succeeds everywhere.
        for (const db of [PG, MARIA]) {
            const ok = runScript(db, "backup.sh");
            assert.equal(ok.status, 0, `${db}: ${ok.stderr}${ok.stdout}`);
            for (const d of ["directory", "bucket"])
                assert.ok(status(db).destinations[d].lastSuccess! > status(db).destinations[d].lastFailure!);
        }
    });
});
