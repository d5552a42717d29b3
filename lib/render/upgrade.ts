// A database's major upgrade on the host: the script the `<name>-upgrade` host command runs before a new
// image replaces the container (docs/architecture.md, "Major database upgrades"). Pure; test/render checks
// it with bash -n and shellcheck, test/e2e/upgrade.test.ts runs it for real.
//
// The data moves into a new copy, never in place: the old server stops, its volume is copied to a kept
// volume (`<volume>-<old version>`), a temporary old server on that copy is read into a temporary new server
// (Postgres: pg_dumpall -g and pg_dump | pg_restore with the new major's tools; MariaDB: a copy of the files
// upgraded by mariadb-upgrade), every table's row count is compared, and only then is the volume replaced by
// the new data. Any failure before that leaves the volume as it was and starts the old server again.
import { shq } from "./shell";

export interface UpgradePlan {
    readonly engine: "postgres" | "mariadb";
    /** The serving container (stopped during the upgrade, started again on failure). */
    readonly container: string;
    /** The data volume the new container mounts. */
    readonly volume: string;
    /** The new server's image, as the host's engine knows it (an id or a pulled reference). */
    readonly image: string;
    /** The version the component asks for, e.g. `"17"` or `"11"`. */
    readonly version: string;
    /** The versions the component supports, oldest first: the data must be one of them. */
    readonly versions: readonly string[];
    /** Where the new image mounts the volume. */
    readonly dataPath: string;
    /** Environment of the new image beyond the engine's own (`POSTGRES_*`, `MARIADB_*`), e.g. PGDATA. */
    readonly env: readonly string[];
    /** Arguments for the image's entrypoint, as the container gets them. */
    readonly command: readonly string[];
    /** The container's healthcheck (exec form): the temporary servers are ready when it passes. */
    readonly ready: readonly string[];
    /** `Postgres "db" on host "prod"`, for messages. */
    readonly owner: string;
}

/** Prints the version of the data in /data (a volume mounted there), or nothing for an empty volume. */
const DETECT = {
    // Up to 17 the cluster is at the volume's root; 18's image keeps it in <major>/docker.
    postgres: `for f in /data/PG_VERSION /data/*/docker/PG_VERSION; do if [ -s "$f" ]; then cat "$f"; exit 0; fi; done`,
    // mariadb-upgrade records the server version; a datadir no upgrade ever ran on says nothing (an "unknown").
    mariadb:
        `[ -d /data/mysql ] || exit 0; v=$(cat /data/mariadb_upgrade_info /data/mysql_upgrade_info 2>/dev/null` +
        ` | tr -d '\\000' | grep -oE '^[0-9]+\\.[0-9]+' | head -n 1); echo "\${v:-unknown}"`,
};

/** Prints `<database>.<schema>.<table> <rows>` for every user table, sorted (run in a server's container). */
const COUNT_ROWS = {
    postgres: [
        `export PGUSER="$POSTGRES_USER"`,
        `q="SELECT format('%I.%I', schemaname, relname) || ' ' || (xpath('/row/c/text()', query_to_xml(format(` +
            `'SELECT count(*) AS c FROM %I.%I', schemaname, relname), false, true, '')))[1]::text FROM pg_stat_user_tables"`,
        `for db in $(psql -d postgres -Atc "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate"); do`,
        `    psql -d "$db" -v ON_ERROR_STOP=1 -Atc "$q" | sed "s/^/$db./"`,
        `done | LC_ALL=C sort`,
    ].join("\n"),
    mariadb: [
        `export MYSQL_PWD="$MARIADB_ROOT_PASSWORD"`,
        `mariadb -uroot -N -B -e "SELECT CONCAT('SELECT ''', table_schema, '.', table_name, ''', COUNT(*) FROM \\\`` +
            `', table_schema, '\\\`.\\\`', table_name, '\\\`;') FROM information_schema.tables WHERE table_type = 'BASE TABLE'` +
            ` AND table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')"`,
        ` | mariadb -uroot -N -B | tr '\\t' ' ' | LC_ALL=C sort`,
    ].join(""),
};

/**
 * Moves the data from the old server (host name `$1`) into this one, with this server's tools. Postgres:
 * the roles (less the user the image made) and every database, one pg_dump | pg_restore each, all or nothing.
 */
const MIGRATE_POSTGRES = [
    `set -eo pipefail`,
    `export PGUSER="$POSTGRES_USER" PGPASSWORD="$POSTGRES_PASSWORD"`,
    `pg_dumpall -h "$1" --globals-only | grep -vx "CREATE ROLE $POSTGRES_USER;" | psql -q -d postgres -v ON_ERROR_STOP=1`,
    `for db in $(psql -h "$1" -d postgres -Atc "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate"); do`,
    `    if [ -z "$(psql -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then createdb -T template0 "$db"; fi`,
    // -Z0: the archive goes straight into pg_restore; compressing it would only lengthen the downtime.
    `    pg_dump -h "$1" -d "$db" -Fc -Z0 | pg_restore -d "$db" --exit-on-error --single-transaction`,
    `done`,
].join("\n");

/** The upgrade script: a no-op unless the volume holds data of an older major than `version`. */
export function renderUpgradeScript(p: UpgradePlan): string {
    const engine = p.engine === "postgres" ? "Postgres" : "MariaDB";
    const series = p.versions.map(v => `${v}`).join(" ");
    const ready = p.ready.map(shq).join(" ");
    const command = p.command.map(shq).join(" ");
    return [
        "#!/usr/bin/env bash",
        `# dropyard: moves the data of ${p.owner} to ${engine} ${p.version} when its volume holds an older major.`,
        "# shellcheck disable=SC2016 # the single-quoted scripts run, and expand, inside the containers",
        "set -euo pipefail",
        `owner=${shq(p.owner)}`,
        `container=${shq(p.container)} volume=${shq(p.volume)} image=${shq(p.image)} target=${shq(p.version)}`,
        `supported=${shq(series)}`,
        'say() { echo "upgrade: $*"; }',
        "",
        `if ! docker volume inspect "$volume" >/dev/null 2>&1; then say "no volume $volume yet: nothing to upgrade"; exit 0; fi`,
        `have=$(docker run --rm --network none --entrypoint sh -v "$volume:/data:ro" "$image" -c ${shq(DETECT[p.engine])})`,
        `if [ -z "$have" ]; then say "$volume holds no database yet: nothing to upgrade"; exit 0; fi`,
        // A datadir no upgrade ever ran on is at the version of the server that made it.
        ...(p.engine === "mariadb"
            ? [
                  `if [ "$have" = unknown ] && image_of=$(docker inspect -f '{{.Image}}' "$container" 2>/dev/null); then`,
                  `    have=$(docker run --rm --network none --entrypoint mariadbd "$image_of" --version | grep -oE '[0-9]+\\.[0-9]+' | head -n 1)`,
                  "fi",
              ]
            : []),
        // The supported version the data belongs to: "15" for 15, "10.11" for 10.11.6, "11" for 11.8.
        `from=""`,
        `for v in $supported; do if [ "$have" = "$v" ] || [[ "$have" == "$v".* ]]; then from=$v; fi; done`,
        `if [ "$from" = "$target" ]; then say "$volume holds ${engine} $have, as asked: nothing to upgrade"; exit 0; fi`,
        `if [ -z "$from" ]; then`,
        `    echo "upgrade: $owner: $volume holds ${engine} $have, which dropyard does not upgrade from (it upgrades from: $supported)." >&2`,
        `    echo "Move the data by hand (dump it with that version's tools, restore into a new database)." >&2`,
        "    exit 1",
        "fi",
        `if [ "$(printf '%s\\n%s\\n' "$from" "$target" | sort -V | tail -n 1)" = "$from" ]; then`,
        `    echo "upgrade: $owner: $volume holds ${engine} $from; version \\"$target\\" is older, and a downgrade is not supported." >&2`,
        `    echo "Set version back to \\"$from\\". To go back a major, restore a backup into a new database of that version." >&2`,
        "    exit 1",
        "fi",
        `if ! old_image=$(docker inspect -f '{{.Image}}' "$container" 2>/dev/null); then`,
        `    echo "upgrade: $owner: $volume holds ${engine} $from but no container $container runs it; deploy version \\"$from\\" first." >&2`,
        "    exit 1",
        "fi",
        `say "$owner: ${engine} $from -> $target"`,
        "",
        `keep="$volume-$from" work="$volume-upgrade" net="$container-upgrade" old_tmp="$container-upgrade-old" new_tmp="$container-upgrade-new"`,
        `label="dev.dropyard.upgrade=$container"`,
        `tmp=$(mktemp -d); chmod 700 "$tmp"`,
        `stage=prepare`,
        // Secrets go through files only (0600 in a private directory), never the command line.
        `docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$container" | grep -E '^(POSTGRES|MARIADB|MYSQL)_' >"$tmp/env" || true`,
        `old_mount=$(docker inspect -f "{{range .Mounts}}{{if eq .Name \\"$volume\\"}}{{.Destination}}{{end}}{{end}}" "$container")`,
        `{ cat "$tmp/env"; docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$container" | grep '^PGDATA=' || true; } >"$tmp/old.env"`,
        `{ cat "$tmp/env"${p.env.length ? `; printf '%s\\n' ${p.env.map(shq).join(" ")}` : ""}; } >"$tmp/new.env"`,
        "",
        "cleanup() {",
        `    docker rm -f "$old_tmp" "$new_tmp" >/dev/null 2>&1 || true`,
        `    docker network rm "$net" >/dev/null 2>&1 || true`,
        `    docker volume rm "$work" >/dev/null 2>&1 || true`,
        `    rm -rf "$tmp"`,
        "}",
        // copy FROM TO: a volume's files into another, emptied first.
        "copy() {",
        `    docker run --rm --network none --label "$label" --entrypoint sh -v "$1:/from:ro" -v "$2:/to" "$image" \\`,
        `        -c 'find /to -mindepth 1 -delete && cp -a /from/. /to/'`,
        "}",
        "fail() {",
        `    echo "upgrade: $owner: $* (stage: $stage)" >&2`,
        `    if [ -s "$tmp/log" ]; then tail -n 8 "$tmp/log" | sed 's/^/    /' >&2; fi`,
        "    cleanup",
        `    if [ "$stage" = swap ]; then`,
        `        copy "$keep" "$volume" || { echo "upgrade: putting the old data back into $volume failed; it is in volume $keep" >&2; exit 1; }`,
        "    fi",
        `    if [ "$stage" != prepare ]; then docker volume rm "$keep" >/dev/null 2>&1 || true; fi`,
        `    docker start "$container" >/dev/null || { echo "upgrade: starting $container again failed" >&2; exit 1; }`,
        // Back in service before the deploy fails, so whoever reads the error finds the database answering.
        "    for _ in $(seq 1 120); do",
        `        if docker exec "$container" ${ready} >/dev/null 2>&1; then`,
        `            echo "upgrade: $container serves ${engine} $from again, its data as it was" >&2; exit 1`,
        "        fi",
        "        sleep 1",
        "    done",
        `    echo "upgrade: $container was started again but did not pass its healthcheck in 120 s" >&2`,
        "    exit 1",
        "}",
        `trap 'fail "interrupted"' INT TERM`,
        // step WHAT CMD...: runs CMD with its output in the log; a failure undoes what was done.
        "step() {",
        `    local what=$1; shift`,
        `    "$@" >"$tmp/log" 2>&1 || fail "$what failed"`,
        "}",
        // ready NAME: waits until the server's own healthcheck passes.
        "ready() {",
        "    for _ in $(seq 1 180); do",
        `        if docker exec "$1" ${ready} >/dev/null 2>&1; then return 0; fi`,
        `        if [ "$(docker inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" != true ]; then`,
        `            docker logs --tail 8 "$1" >"$tmp/log" 2>&1; fail "the temporary server $1 stopped"`,
        "        fi",
        "        sleep 1",
        "    done",
        `    docker logs --tail 8 "$1" >"$tmp/log" 2>&1; fail "the temporary server $1 was not ready in 180 s"`,
        "}",
        "",
        // Leftovers of an attempt that was killed.
        `docker rm -f "$old_tmp" "$new_tmp" >/dev/null 2>&1 || true`,
        `docker network rm "$net" >/dev/null 2>&1 || true`,
        `docker volume rm "$work" >/dev/null 2>&1 || true`,
        `if docker volume inspect "$keep" >/dev/null 2>&1; then`,
        `    echo "upgrade: $owner: volume $keep exists (an earlier upgrade's old data?); remove or rename it first." >&2`,
        `    rm -rf "$tmp"; exit 1`,
        "fi",
        "",
        `say "stopping $container; the database is unavailable until the new version serves"`,
        `stage=stopped`,
        `step "stopping $container" docker stop -t 60 "$container"`,
        `step "making volume $keep" docker volume create --label "dev.dropyard.database=$container" --label "$label" "$keep"`,
        `step "copying $volume to $keep" copy "$volume" "$keep"`,
        `step "making network $net" docker network create --internal --label "$label" "$net"`,
        `step "starting the old server" docker run -d --name "$old_tmp" --label "$label" --network "$net" --env-file "$tmp/old.env" \\`,
        `    -v "$keep:$old_mount" "$old_image" ${command}`,
        `ready "$old_tmp"`,
        `docker exec "$old_tmp" sh -c ${shq(COUNT_ROWS[p.engine])} >"$tmp/rows.old" 2>"$tmp/log" || fail "counting the old rows failed"`,
        `step "making volume $work" docker volume create --label "$label" "$work"`,
        ...(p.engine === "postgres"
            ? [
                  `step "starting the new server" docker run -d --name "$new_tmp" --label "$label" --network "$net" --env-file "$tmp/new.env" \\`,
                  `    -v "$work:${p.dataPath}" "$image" ${command}`,
                  `ready "$new_tmp"`,
                  `say "dump and restore, with ${engine} $target's pg_dump"`,
                  `step "moving the data (pg_dump | pg_restore)" docker exec "$new_tmp" bash -c ${shq(MIGRATE_POSTGRES)} bash "$old_tmp"`,
              ]
            : [
                  `step "stopping the old server" docker stop -t 60 "$old_tmp"`,
                  `step "copying the data to $work" copy "$keep" "$work"`,
                  `say "mariadb-upgrade on a copy of the data"`,
                  `step "starting the new server" docker run -d --name "$new_tmp" --label "$label" --network "$net" --env-file "$tmp/new.env" \\`,
                  `    -e MARIADB_AUTO_UPGRADE=1 -v "$work:${p.dataPath}" "$image" ${command}`,
                  `ready "$new_tmp"`,
              ]),
        `docker exec "$new_tmp" sh -c ${shq(COUNT_ROWS[p.engine])} >"$tmp/rows.new" 2>"$tmp/log" || fail "counting the new rows failed"`,
        `if ! diff "$tmp/rows.old" "$tmp/rows.new" >"$tmp/log"; then fail "the row counts differ after the upgrade (< old, > new)"; fi`,
        `step "stopping the new server" docker stop -t 60 "$new_tmp"`,
        `docker rm -f "$old_tmp" >/dev/null 2>&1 || true`,
        `stage=swap`,
        `step "putting the new data into $volume" copy "$work" "$volume"`,
        `stage=finished`,
        `tables=$(wc -l <"$tmp/rows.old")`,
        "cleanup",
        `say "done: $tables tables, their rows counted equal; the old data is kept in volume $keep (docker volume rm $keep once ${engine} $target serves)"`,
        "",
    ].join("\n");
}
