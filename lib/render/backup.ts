// Database backups on the host: the backup script cron runs, the restore script a person runs, and the
// script that installs both (plus the cron entry). Pure functions; test/render checks them with bash -n,
// shellcheck and by running them against a stand-in `docker`.
//
// restic does storage, encryption and retention; it runs from its image (`docker run --rm`), so the host
// needs nothing installed. The dump is streamed from `docker exec <db> pg_dump -Fc` (or mariadb-dump) into
// `restic backup --stdin`: no plain-text copy touches the disk. Secrets (restic's passphrase, the bucket's
// keys) live in `<stateDir>/env` (0600), written from the installing command's standard input.
import { createHash } from "node:crypto";
import { cronInstallLines, cronRemoveLines } from "./cron";
import { heredoc, shq } from "./shell";

/** A restic repository the backup writes to. */
export type BackupDestination =
    /** A directory on the host, mounted at the same path into restic's container. */
    | { readonly kind: "directory"; readonly path: string }
    /** An S3-compatible bucket: `s3:<endpoint>/<bucket>[/<prefix>]`, keys from the env file. */
    | { readonly kind: "bucket"; readonly endpoint: string; readonly bucket: string; readonly prefix: string };

export interface BackupRetention {
    readonly daily: number;
    readonly weekly: number;
    readonly monthly: number;
}

/** Everything the scripts need to know; nothing secret. */
export interface BackupPlan {
    readonly engine: "postgres" | "mariadb";
    /** The database container (its name). */
    readonly container: string;
    /** The database inside the server. */
    readonly database: string;
    /** The user pg_dump connects as (Postgres; MariaDB dumps as root from the container's environment). */
    readonly user: string;
    /** Host directory for the scripts, the env file, the lock and the status. */
    readonly stateDir: string;
    /** The restic image. */
    readonly image: string;
    /** Keyed by a short name (`directory`, `bucket`) that the status and `restore.sh --from` use. */
    readonly destinations: Readonly<Record<string, BackupDestination>>;
    readonly retention: BackupRetention;
    /** Extra docker networks restic joins (to reach a test S3 server). */
    readonly networks: readonly string[];
    /** Trust `<stateDir>/ca.pem` for the bucket's endpoint (a test server). */
    readonly caBundle: boolean;
    /** Who installed it, for the headers: e.g. `Postgres "db" on host "prod"`. */
    readonly owner: string;
}

/** Where things live under the state directory. */
export function backupPaths(stateDir: string) {
    return {
        backupScript: `${stateDir}/backup.sh`,
        restoreScript: `${stateDir}/restore.sh`,
        envFile: `${stateDir}/env`,
        caFile: `${stateDir}/ca.pem`,
        statusFile: `${stateDir}/status.json`,
        lockFile: `${stateDir}/lock`,
        /** The default directory destination. */
        repository: `${stateDir}/repository`,
    };
}

const CA_IN_CONTAINER = "/dropyard/ca.pem";

/** The restic repository string of a destination. */
export function repositoryOf(d: BackupDestination): string {
    if (d.kind === "directory") return d.path;
    const endpoint = d.endpoint.replace(/\/+$/, "");
    return `s3:${endpoint}/${d.bucket}${d.prefix ? `/${d.prefix}` : ""}`;
}

/** The file name the dump has inside a snapshot. */
export function dumpFileName(p: BackupPlan): string {
    return p.engine === "postgres" ? `${p.database}.pgdump` : `${p.database}.sql`;
}

/** Daily at a minute and an hour between 01:00 and 04:59 taken from a hash of `seed`: stable, spread. */
export function backupSchedule(seed: string): string {
    const h = createHash("sha256").update(seed).digest();
    return `${h[0] % 60} ${1 + (h[1] % 4)} * * *`;
}

/**
 * `limit=SECONDS restic_run ...` stops restic after that long (docker passes the signal on): restic
 * retries a repository that does not answer for about 15 minutes, too long for a probe.
 */
const LIMIT = `\${limit:+timeout "$limit"} `;

/** Defines `restic_run DEST ARGS...`: restic in its container against one destination. */
function resticFunction(p: BackupPlan): string {
    const paths = backupPaths(p.stateDir);
    const mounts = Object.values(p.destinations)
        .filter(d => d.kind === "directory")
        .map(d => `-v ${shq(`${d.path}:${d.path}`)}`);
    const options = [
        "-i",
        `--user "$(id -u):$(id -g)"`,
        `--env-file ${shq(paths.envFile)}`,
        `-e RESTIC_REPOSITORY="$repo"`,
        ...mounts,
        ...(p.caBundle ? [`-v ${shq(`${paths.caFile}:${CA_IN_CONTAINER}:ro`)}`] : []),
        "--label dev.dropyard.backup=restic",
    ].join(" ");
    const tail = `${shq(p.image)} --no-cache${p.caBundle ? ` --cacert ${CA_IN_CONTAINER}` : ""} "$@"`;
    const lines = ["restic_run() {", "    local repo", `    repo=$(repository_of "$1"); shift`];
    if (p.networks.length === 0) {
        lines.push(`    ${LIMIT}docker run --rm ${options} ${tail}`);
    } else {
        // `docker run` joins one network; create, connect the others, then start attached.
        lines.push(
            "    local cid status=0",
            `    cid=$(docker create ${options} ${tail})`,
            ...p.networks.map(n => `    docker network connect ${shq(n)} "$cid" || status=$?`),
            `    if [ "$status" -eq 0 ]; then ${LIMIT}docker start -ai "$cid" || status=$?; fi`,
            `    docker rm -f "$cid" >/dev/null 2>&1 || true`,
            `    return "$status"`,
        );
    }
    lines.push("}");
    const cases = Object.entries(p.destinations).map(
        ([name, d]) => `        ${shq(name)}) echo ${shq(repositoryOf(d))} ;;`,
    );
    return [
        "repository_of() {",
        `    case "$1" in`,
        ...cases,
        `        *) echo "unknown destination $1; use one of: $destinations" >&2; return 2 ;;`,
        "    esac",
        "}",
        ...lines,
    ].join("\n");
}

/**
 * The dump command, run on the host: the database's own tools in its container, to standard output.
 * A Postgres dump comes compressed, so restic stores it as it is (`--compression off` in backup.sh).
 */
function dumpCommand(p: BackupPlan): string {
    if (p.engine === "postgres") {
        // zstd level 1 (pg_dump 16+; gzip level 1 before): compression is most of a dump's time, and the
        // default gzip level is about 2.5 times slower for a few per cent less size (bench/backup.ts).
        const dump =
            `if [ "$(pg_dump --version | grep -oE '[0-9]+' | head -n 1)" -ge 16 ]; then z=zstd:1; else z=1; fi; ` +
            `exec pg_dump -U "$1" -d "$2" -Fc -Z "$z"`;
        return `docker exec ${shq(p.container)} sh -c ${shq(dump)} sh ${shq(p.user)} ${shq(p.database)}`;
    }
    // As root with the password from the container's own environment: never on the host's command line.
    return `docker exec ${shq(p.container)} sh -c ${shq(`MYSQL_PWD="$MARIADB_ROOT_PASSWORD" exec mariadb-dump -uroot --single-transaction --routines --triggers --events --hex-blob ${p.database}`)}`;
}

/** Reads an archive on standard input and fails unless it is a whole dump (run on the host). */
function verifyCommand(p: BackupPlan): string {
    if (p.engine === "postgres") {
        // pg_restore without a database turns the whole archive into SQL (here thrown away): every data
        // block is read, so a truncated or corrupt archive fails. Whatever it leaves unread is drained, so
        // the snapshot's reader never meets a closed pipe.
        return `docker exec -i ${shq(p.container)} sh -c 'pg_restore -f /dev/null; s=$?; cat >/dev/null; exit "$s"'`;
    }
    // mariadb-dump's last line says it completed; a cut-off dump lacks it.
    return `tail -c 300 | grep -q 'Dump completed'`;
}

const JSON_FUNCTIONS = [
    "json_str() {",
    `    local s=$1`,
    `    s=\${s//\\\\/\\\\\\\\}`,
    `    s=\${s//\\"/\\\\\\"}`,
    `    s=\${s//$'\\n'/ }`,
    `    s=\${s//$'\\r'/ }`,
    `    s=\${s//$'\\t'/ }`,
    `    printf '"%s"' "$s"`,
    "}",
    // A field of a destination's status: a file `<dest>.<field>` in the status dir, or null.
    "json_field() {",
    `    if [ -s "$status_dir/$1.$2" ]; then json_str "$(cat "$status_dir/$1.$2")"; else printf null; fi`,
    "}",
].join("\n");

/**
 * The backup script (`<stateDir>/backup.sh`). For each destination: make the repository if it is new,
 * stream a dump into `restic backup --stdin`, read the snapshot back and check it is a whole dump of the
 * size written, then `restic forget --prune` by the retention. A destination that fails is recorded with
 * its message and the script exits 1 after trying the others; the next run tries again. The status
 * (`status.json`) keeps, per destination, the last success and the last failure.
 *
 * `--before-change`: the backup `pulumi up` takes before replacing the container; a container that does
 * not exist yet (the first deploy) has nothing to back up.
 */
export function renderBackupScript(p: BackupPlan): string {
    const paths = backupPaths(p.stateDir);
    const names = Object.keys(p.destinations);
    const file = dumpFileName(p);
    const r = p.retention;
    const keep = [
        ...(r.daily > 0 ? [`--keep-daily ${r.daily}`] : []),
        ...(r.weekly > 0 ? [`--keep-weekly ${r.weekly}`] : []),
        ...(r.monthly > 0 ? [`--keep-monthly ${r.monthly}`] : []),
    ].join(" ");
    return [
        "#!/usr/bin/env bash",
        `# dropyard: backs up the database "${p.database}" of ${p.owner} with restic.`,
        `# Destinations: ${names.join(", ")}. Status: ${paths.statusFile}. Restore: ${paths.restoreScript} --help.`,
        "# By hand: bash backup.sh (all destinations) or bash backup.sh <destination>...",
        "set -euo pipefail",
        `state=${shq(p.stateDir)}`,
        `container=${shq(p.container)}`,
        `file=${shq(file)}`,
        `destinations=${shq(names.join(" "))}`,
        `status_dir="$state/status"`,
        `mkdir -p "$status_dir"`,
        `before_change=""`,
        `if [ "\${1:-}" = --before-change ]; then before_change=1; shift; fi`,
        `if [ $# -eq 0 ]; then read -r -a targets <<<"$destinations"; else targets=("$@"); fi`,
        "",
        `if [ -n "$before_change" ] && ! docker inspect "$container" >/dev/null 2>&1; then`,
        `    echo "backup: no container $container yet; nothing to back up before the change"`,
        "    exit 0",
        "fi",
        "",
        "# One backup at a time for this database (cron and a deploy can meet).",
        "if command -v flock >/dev/null 2>&1; then",
        `    exec 9>>${shq(paths.lockFile)}`,
        `    flock -w 3600 9 || { echo "backup: another backup of $container has held ${paths.lockFile} for an hour" >&2; exit 1; }`,
        "fi",
        "",
        resticFunction(p),
        "",
        JSON_FUNCTIONS,
        "",
        "write_status() {",
        "    local d first=1",
        "    {",
        `        printf '{"database":%s,"container":%s,"updated":%s,"destinations":{' "$(json_str ${shq(p.database)})" "$(json_str "$container")" "$(json_str "$(date -u +%FT%TZ)")"`,
        `        for d in $destinations; do`,
        `            if [ -z "$first" ]; then printf ','; fi; first=""`,
        `            printf '%s:{"lastSuccess":%s,"snapshot":%s,"bytes":%s,"lastFailure":%s,"lastError":%s}' "$(json_str "$d")" \\`,
        `                "$(json_field "$d" success)" "$(json_field "$d" snapshot)" "$(cat "$status_dir/$d.bytes" 2>/dev/null || echo null)" \\`,
        `                "$(json_field "$d" failure)" "$(json_field "$d" error)"`,
        "        done",
        "        printf '}}\\n'",
        `    } >"$status_dir/status.json.new"`,
        `    mv -f "$status_dir/status.json.new" ${shq(paths.statusFile)}`,
        "}",
        "",
        "now() { date -u +%FT%TZ; }",
        `work=$(mktemp -d); trap 'rm -rf "$work"' EXIT`,
        "",
        "# Fails with a message on stderr's last line; writes nothing of the dump to disk.",
        "backup_one() {",
        "    local d=$1 snapshot dumped stored rc",
        // restic exits 10 when there is no repository yet (0.17+): make it; any other failure is the answer.
        `    local probe=0`,
        `    limit=120 restic_run "$d" cat config >/dev/null 2>"$work/err" || probe=$?`,
        `    if [ "$probe" -eq 10 ]; then`,
        `        limit=120 restic_run "$d" init >/dev/null 2>"$work/err" || { tail -n 3 "$work/err" >&2; echo "restic init failed" >&2; return 1; }`,
        `    elif [ "$probe" -ne 0 ]; then`,
        `        tail -n 3 "$work/err" >&2; echo "the repository does not answer (restic exit $probe)" >&2; return 1`,
        "    fi",
        `    set +e`,
        `    ${dumpCommand(p)} 2>"$work/dump-err" | tee >(wc -c >"$work/dumped") | restic_run "$d" backup${p.engine === "postgres" ? " --compression off" : ""} --stdin --stdin-filename "$file" --tag dropyard --host "$container" --json >"$work/out" 2>"$work/err"`,
        `    rc=("\${PIPESTATUS[@]}")`,
        `    set -e`,
        `    snapshot=$(sed -n 's/.*"message_type":"summary".*"snapshot_id":"\\([0-9a-f]*\\)".*/\\1/p' "$work/out" | tail -n 1)`,
        `    if [ "\${rc[0]}" -ne 0 ]; then`,
        `        if [ -n "$snapshot" ]; then restic_run "$d" forget "$snapshot" >/dev/null 2>&1 || true; fi`,
        `        tail -n 3 "$work/dump-err" >&2; echo "the dump failed (exit \${rc[0]}); the partial snapshot was dropped" >&2; return 1`,
        "    fi",
        `    if [ "\${rc[2]}" -ne 0 ] || [ -z "$snapshot" ]; then`,
        `        tail -n 3 "$work/err" >&2; echo "restic backup failed (exit \${rc[2]})" >&2; return 1`,
        "    fi",
        "    # Verify: read the snapshot back, count its bytes, and check it is a whole dump.",
        `    for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$work/dumped" ] && break; sleep 0.2; done`,
        `    dumped=$(tr -d ' ' <"$work/dumped")`,
        `    if ! stored=$(restic_run "$d" dump "$snapshot" "/$file" 2>"$work/err" | tee >(${verifyCommand(p)}; echo "$?" >"$work/verified") | wc -c); then`,
        `        tail -n 3 "$work/err" >&2; echo "reading snapshot $snapshot back failed" >&2; return 1`,
        "    fi",
        `    for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$work/verified" ] && break; sleep 0.2; done`,
        `    if [ "$stored" != "$dumped" ] || [ "$dumped" -lt 64 ]; then`,
        `        echo "snapshot $snapshot holds $stored bytes, the dump was $dumped bytes" >&2; return 1`,
        "    fi",
        `    if [ "$(cat "$work/verified" 2>/dev/null)" != 0 ]; then`,
        `        echo "snapshot $snapshot reads back but is not a whole dump" >&2; return 1`,
        "    fi",
        `    restic_run "$d" forget --tag dropyard --host "$container" ${keep} --prune >/dev/null 2>"$work/err" \\`,
        `        || { tail -n 3 "$work/err" >&2; echo "restic forget --prune failed (the backup itself is kept)" >&2; return 1; }`,
        `    printf '%s' "$snapshot" >"$status_dir/$d.snapshot"`,
        `    printf '%s' "$stored" >"$status_dir/$d.bytes"`,
        "}",
        "",
        "failed=0",
        `for d in "\${targets[@]}"; do`,
        `    repository_of "$d" >/dev/null || exit 2`,
        `    started=$SECONDS`,
        `    if backup_one "$d" 2>"$work/why"; then`,
        `        now >"$status_dir/$d.success"`,
        `        echo "backup: $container to $d: snapshot $(cat "$status_dir/$d.snapshot"), $(cat "$status_dir/$d.bytes") bytes, verified, in $((SECONDS - started))s"`,
        "    else",
        "        failed=1",
        `        now >"$status_dir/$d.failure"`,
        `        grep -v '^$' "$work/why" | tail -n 4 | tr '\\n' ' ' | sed 's/ $//' >"$status_dir/$d.error"`,
        `        echo "backup: $container to $d FAILED: $(cat "$status_dir/$d.error")" >&2`,
        "    fi",
        "done",
        "write_status",
        `exit "$failed"`,
        "",
    ].join("\n");
}

/**
 * The restore script (`<stateDir>/restore.sh`): one command restores the newest (or a chosen) snapshot
 * from a destination into this database or into another container. It refuses a target database that
 * other sessions are connected to (one serving traffic) unless `--force` is given.
 */
export function renderRestoreScript(p: BackupPlan): string {
    const paths = backupPaths(p.stateDir);
    const names = Object.keys(p.destinations);
    const file = dumpFileName(p);
    const usage = [
        `Usage: ${paths.restoreScript} [--from DESTINATION] [--snapshot ID] [--into CONTAINER] [--database NAME] [--force]`,
        `       ${paths.restoreScript} --list [--from DESTINATION]`,
        `Restores the database "${p.database}" of ${p.owner} from a restic snapshot.`,
        `  --from       one of: ${names.join(", ")} (default: ${names[0]})`,
        "  --snapshot   a snapshot id from --list (default: the newest)",
        `  --into       the ${p.engine} container to restore into (default: ${p.container}); it must be running`,
        `  --database   the database in that container (default: ${p.database}); replaced object by object`,
        "  --force      restore even though other sessions are connected to the target database",
    ].join("\n");
    const sessions =
        p.engine === "postgres"
            ? `psql -U "$POSTGRES_USER" -d "$1" -Atc "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"`
            : `MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb -uroot -N -B -e "SELECT count(*) FROM information_schema.processlist WHERE db = '$1' AND id <> connection_id()"`;
    const load =
        p.engine === "postgres"
            ? // --clean --if-exists drops what the dump re-creates; one transaction: all or nothing.
              `pg_restore -U "$POSTGRES_USER" -d "$1" --clean --if-exists --no-owner --single-transaction --exit-on-error`
            : `MYSQL_PWD="$MARIADB_ROOT_PASSWORD" exec mariadb -uroot "$1"`;
    return [
        "#!/usr/bin/env bash",
        `# dropyard: restores the database "${p.database}" of ${p.owner} from restic (see --help).`,
        "set -euo pipefail",
        `container=${shq(p.container)}`,
        `file=${shq(file)}`,
        `destinations=${shq(names.join(" "))}`,
        `usage=${shq(usage)}`,
        `from=${shq(names[0])} snapshot=latest into=${shq(p.container)} database=${shq(p.database)} force="" list=""`,
        "while [ $# -gt 0 ]; do",
        `    case "$1" in`,
        `        --from) from=$2; shift 2 ;;`,
        `        --snapshot) snapshot=$2; shift 2 ;;`,
        `        --into) into=$2; shift 2 ;;`,
        `        --database) database=$2; shift 2 ;;`,
        `        --force) force=1; shift ;;`,
        `        --list) list=1; shift ;;`,
        `        -h|--help) echo "$usage"; exit 0 ;;`,
        `        *) echo "restore: unknown argument $1" >&2; echo "$usage" >&2; exit 2 ;;`,
        "    esac",
        "done",
        `if ! [[ "$database" =~ ^[A-Za-z0-9_]+$ ]]; then echo "restore: database \\"$database\\" is not a plain identifier" >&2; exit 2; fi`,
        `if ! [[ "$snapshot" =~ ^(latest|[0-9a-f]{8,64})$ ]]; then echo "restore: snapshot \\"$snapshot\\" is not a snapshot id (see --list)" >&2; exit 2; fi`,
        "",
        resticFunction(p),
        "",
        `repository_of "$from" >/dev/null || exit 2`,
        `if [ -n "$list" ]; then restic_run "$from" snapshots --tag dropyard --host "$container"; exit 0; fi`,
        "",
        `if [ "$(docker inspect -f '{{.State.Running}}' "$into" 2>/dev/null || true)" != true ]; then`,
        `    echo "restore: container $into is not running; start it (or deploy the database) first" >&2; exit 1`,
        "fi",
        `sessions=$(docker exec "$into" sh -c ${shq(sessions)} sh "$database")`,
        `if [ "$sessions" != 0 ] && [ -z "$force" ]; then`,
        `    echo "restore: $sessions other session(s) are connected to $database in $into: it serves traffic." >&2`,
        `    echo "Stop the apps that use it, or pass --force to restore over it anyway." >&2`,
        "    exit 1",
        "fi",
        `if [ "$snapshot" = latest ]; then`,
        `    snapshot=$(restic_run "$from" snapshots --tag dropyard --host "$container" --latest 1 --json | sed -n 's/.*"short_id":"\\([0-9a-f]*\\)".*/\\1/p' | tail -n 1)`,
        `    if [ -z "$snapshot" ]; then echo "restore: no snapshot of $container in $from" >&2; exit 1; fi`,
        "fi",
        `echo "restore: snapshot $snapshot from $from into $database in $into"`,
        `started=$SECONDS`,
        `restic_run "$from" dump "$snapshot" "/$file" | docker exec -i "$into" sh -c ${shq(load)} sh "$database"`,
        `echo "restore: done in $((SECONDS - started))s"`,
        "",
    ].join("\n");
}

export interface BackupInstall {
    readonly plan: BackupPlan;
    /** The CA bundle written to `<stateDir>/ca.pem` when `plan.caBundle` is set. */
    readonly caBundlePem?: string;
    /** Absent: no cron entry; run backup.sh yourself (or from your own scheduler). */
    readonly cron?: { readonly file: string; readonly schedule: string };
}

/**
 * Writes the env file from standard input (0600; restic's passphrase and the bucket's keys), the scripts,
 * the CA bundle, the directory destinations, and the cron entry.
 */
export function renderBackupInstallScript(s: BackupInstall): string {
    const p = s.plan;
    const paths = backupPaths(p.stateDir);
    if (p.caBundle !== (s.caBundlePem !== undefined))
        throw new Error("renderBackupInstallScript: caBundle and caBundlePem go together");
    const write = (target: string, content: string, mode: string) => [
        heredoc(`cat > ${shq(`${target}.new`)}`, content),
        `chmod ${mode} ${shq(`${target}.new`)}`,
        `mv -f ${shq(`${target}.new`)} ${shq(target)}`,
    ];
    const dirs = Object.values(p.destinations)
        .filter(d => d.kind === "directory")
        .map(d => d.path);
    const lines = [
        "set -euo pipefail",
        "umask 077",
        `mkdir -p ${[p.stateDir, ...dirs].map(shq).join(" ")}`,
        `cat > ${shq(`${paths.envFile}.new`)}`,
        `chmod 0600 ${shq(`${paths.envFile}.new`)}`,
        `mv -f ${shq(`${paths.envFile}.new`)} ${shq(paths.envFile)}`,
        ...(s.caBundlePem !== undefined ? write(paths.caFile, s.caBundlePem, "0644") : []),
        ...write(paths.backupScript, renderBackupScript(p), "0700"),
        ...write(paths.restoreScript, renderRestoreScript(p), "0700"),
    ];
    if (s.cron) {
        const command = `/bin/bash ${shq(paths.backupScript)} 2>&1 | logger -t dropyard-backup`;
        lines.push(
            ...cronInstallLines({
                file: s.cron.file,
                schedule: s.cron.schedule,
                command,
                comment: `backs up ${p.owner}.`,
                withoutRoot: `run as root, or set backup.cron: false and run ${paths.backupScript} from your own scheduler`,
            }),
        );
    }
    lines.push("");
    return lines.join("\n");
}

/** Removes the cron entry, the scripts and the secrets; the backups themselves stay. */
export function renderBackupRemoveScript(s: { readonly stateDir: string; readonly cronFile?: string }): string {
    const paths = backupPaths(s.stateDir);
    return [
        "set -euo pipefail",
        ...(s.cronFile !== undefined ? cronRemoveLines(s.cronFile) : []),
        `rm -f ${[paths.backupScript, paths.restoreScript, paths.envFile, paths.caFile].map(shq).join(" ")}`,
        "",
    ].join("\n");
}

/** The env file's text: `KEY=value` lines for `docker run --env-file` (values must hold no newline). */
export function renderBackupEnv(env: Readonly<Record<string, string>>): string {
    for (const [k, v] of Object.entries(env)) {
        if (/[\n\r]/.test(v)) throw new Error(`renderBackupEnv: ${k} holds a newline`);
    }
    return Object.entries(env)
        .map(([k, v]) => `${k}=${v}\n`)
        .join("");
}
