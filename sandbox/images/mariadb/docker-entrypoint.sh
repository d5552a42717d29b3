#!/usr/bin/env bash
# The official mariadb image's entrypoint, in small: initialise an EMPTY datadir from MARIADB_* (MYSQL_* aliases,
# *_FILE variants), create the healthcheck user and .my-healthcheck.cnf, run /docker-entrypoint-initdb.d once,
# upgrade an older datadir with MARIADB_AUTO_UPGRADE, then exec mariadbd as the mysql user with the given arguments.
set -Eeuo pipefail

note() { echo "$(date -u '+%F %T') 0 [Note] [Entrypoint]: $*"; }
fail() { echo "$(date -u '+%F %T') 0 [ERROR] [Entrypoint]: $*" >&2; exit 1; }

# MARIADB_X from MARIADB_X, MARIADB_X_FILE, MYSQL_X or MYSQL_X_FILE (first set wins), else the default.
file_env() {
    local name=$1 def=${2:-} alias=MYSQL_${1#MARIADB_} v
    for v in "$name" "$alias"; do
        local f=${v}_FILE
        if [ -n "${!v:-}" ] && [ -n "${!f:-}" ]; then fail "both $v and $f are set (but are exclusive)"; fi
        if [ -n "${!v:-}" ]; then export "$name"="${!v}"; return; fi
        if [ -n "${!f:-}" ]; then export "$name"="$(<"${!f}")"; return; fi
    done
    export "$name"="$def"
}
sql_escape() { local s=${1//\\/\\\\}; printf '%s' "${s//\'/\\\'}"; }

if [ $# -eq 0 ] || [ "${1:0:1}" = - ]; then set -- mariadbd "$@"; fi
case "$1" in mariadbd | mysqld) ;; *) exec "$@" ;; esac
for arg; do case "$arg" in -'?' | --help | --print-defaults | -V | --version) exec "$@" ;; esac; done

if [ "$(id -u)" = 0 ]; then
    mkdir -p /var/lib/mysql /run/mysqld
    find /var/lib/mysql \! -user mysql -exec chown mysql: '{}' +
    chown mysql: /run/mysqld
    exec gosu mysql "${BASH_SOURCE[0]}" "$@"
fi

# datadir and socket as the server will see them (config files plus the given arguments).
# (The values table starts each line with the name; the help text above it may wrap a bare name onto a line.)
server_opt() { "$@" --verbose --help 2>/dev/null | awk -v k="$OPT" 'index($0, k " ") == 1 { print $2; exit }'; }
DATADIR=$(OPT=datadir server_opt "$@"); DATADIR=${DATADIR%/}
SOCKET=$(OPT=socket server_opt "$@")

# The server version that last upgraded the datadir (mariadb-upgrade writes it; 10.x wrote mysql_upgrade_info).
data_version() {
    local f
    for f in "$DATADIR/mariadb_upgrade_info" "$DATADIR/mysql_upgrade_info"; do
        if [ -s "$f" ]; then tr -d '\0' <"$f" | grep -oE '^[0-9]+\.[0-9]+\.[0-9]+'; return; fi
    done
}
# MARIADB_AUTO_UPGRADE, as the official image: when the datadir is older than the server (or says nothing), a
# temporary server without networking or grant checks runs mariadb-upgrade, after dumping the system tables
# into the datadir (system_mysql_backup_<version>.sql.gz).
auto_upgrade() {
    local had server
    had=$(data_version)
    server=$("$1" --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1)
    if [ -n "$had" ] && [ "$(printf '%s\n%s\n' "$had" "$server" | sort -V | tail -n 1)" = "$had" ]; then return; fi
    note "Upgrading the datadir from ${had:-an unknown version} to $server"
    "$@" --skip-networking --skip-grant-tables --socket="$SOCKET" --wsrep_on=OFF --skip-log-bin \
        --loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0 &
    local pid=$! i
    for i in {60..0}; do
        if mariadb --protocol=socket --socket="$SOCKET" -e 'SELECT 1' >/dev/null 2>&1; then break; fi
        kill -0 "$pid" 2>/dev/null || fail "the server for the upgrade exited during start-up"
        sleep 1
    done
    [ "$i" -gt 0 ] || fail "the server for the upgrade did not start"
    mariadb-dump --protocol=socket --socket="$SOCKET" --databases mysql --skip-lock-tables \
        | gzip >"$DATADIR/system_mysql_backup_${had:-unknown}.sql.gz" || fail "backing up the system tables failed"
    mariadb-upgrade --protocol=socket --socket="$SOCKET" --upgrade-system-tables || fail "mariadb-upgrade failed"
    kill "$pid"; wait "$pid" || true
    note "Upgrade to $server done"
}

if [ -d "$DATADIR/mysql" ]; then
    note "MariaDB datadir $DATADIR holds a database; skipping initialisation"
    file_env MARIADB_AUTO_UPGRADE
    if [ -n "$MARIADB_AUTO_UPGRADE" ]; then auto_upgrade "$@"; fi
    exec "$@"
fi

file_env MARIADB_ROOT_PASSWORD
file_env MARIADB_ALLOW_EMPTY_ROOT_PASSWORD
file_env MARIADB_RANDOM_ROOT_PASSWORD
file_env MARIADB_ROOT_HOST '%'
file_env MARIADB_DATABASE
file_env MARIADB_USER
file_env MARIADB_PASSWORD
if [ -z "$MARIADB_ROOT_PASSWORD" ] && [ -z "$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD" ] && [ -z "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
    fail "Database is uninitialized and password option is not specified
	You need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD"
fi
if [ "$MARIADB_USER" = root ]; then fail "MARIADB_USER=root: the root user is already created; use MARIADB_ROOT_PASSWORD"; fi
if [ -n "$MARIADB_USER" ] && [ -z "$MARIADB_PASSWORD" ]; then fail "MARIADB_PASSWORD is required for MARIADB_USER"; fi
if [ -n "$(find "$DATADIR" -mindepth 1 -maxdepth 1 -not -name lost+found -print -quit 2>/dev/null)" ]; then
    fail "$DATADIR is not empty and holds no database (no mysql/); refusing to initialise it"
fi
if [ -n "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
    MARIADB_ROOT_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
    note "GENERATED ROOT PASSWORD: $MARIADB_ROOT_PASSWORD"
fi

note "Initializing database files"
mariadb-install-db --datadir="$DATADIR" --rpm --auth-root-authentication-method=normal --skip-test-db \
    --default-time-zone=SYSTEM --enforce-storage-engine= --skip-log-bin --expire-logs-days=0 \
    --loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0 "${@:2}" >/dev/null

# A temporary server on the socket only, so healthcheck.sh --connect (TCP) fails until initialisation is done.
note "Starting temporary server"
"$@" --skip-networking --default-time-zone=SYSTEM --socket="$SOCKET" --wsrep_on=OFF --skip-log-bin \
    --expire-logs-days=0 --loose-innodb_buffer_pool_load_at_startup=0 &
pid=$!
sql() { mariadb --protocol=socket -uroot -hlocalhost --socket="$SOCKET" "$@"; }
for i in {30..0}; do
    if sql --database=mysql -e 'SELECT 1' >/dev/null 2>&1; then break; fi
    kill -0 "$pid" 2>/dev/null || fail "the temporary server exited during start-up"
    sleep 1
done
[ "$i" -gt 0 ] || fail "Unable to start server."

root_pw=$(sql_escape "$MARIADB_ROOT_PASSWORD")
hc_pw=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
{
    echo "SET @@SESSION.SQL_LOG_BIN=0;"
    echo "SET @@SESSION.SQL_MODE=REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');"
    echo "DROP USER IF EXISTS root@'127.0.0.1', root@'::1';"
    # shellcheck disable=SC2028 # the backslashes are for SQL
    echo "EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\'', @@hostname,'\'');"
    echo "SET PASSWORD FOR 'root'@'localhost' = PASSWORD('$root_pw');"
    if [ "$MARIADB_ROOT_HOST" != localhost ]; then
        echo "CREATE USER 'root'@'$MARIADB_ROOT_HOST' IDENTIFIED BY '$root_pw';"
        echo "GRANT ALL ON *.* TO 'root'@'$MARIADB_ROOT_HOST' WITH GRANT OPTION;"
        echo "GRANT PROXY ON ''@'%' TO 'root'@'$MARIADB_ROOT_HOST' WITH GRANT OPTION;"
    fi
    for h in 127.0.0.1 ::1 localhost; do
        echo "CREATE USER healthcheck@'$h' IDENTIFIED BY '$hc_pw';"
    done
    if [ -n "$MARIADB_DATABASE" ]; then echo "CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\`;"; fi
    if [ -n "$MARIADB_USER" ]; then
        echo "CREATE USER '$MARIADB_USER'@'%' IDENTIFIED BY '$(sql_escape "$MARIADB_PASSWORD")';"
        if [ -n "$MARIADB_DATABASE" ]; then echo "GRANT ALL ON \`$MARIADB_DATABASE\`.* TO '$MARIADB_USER'@'%';"; fi
    fi
} | sql --database=mysql

# healthcheck.sh reads these credentials (as the official image does).
printf '[mariadb-client]\nport=3306\nsocket=%s\nuser=healthcheck\npassword=%s\n' "$SOCKET" "$hc_pw" \
    >"$DATADIR/.my-healthcheck.cnf"
chmod 0600 "$DATADIR/.my-healthcheck.cnf"

auth=(--password="$MARIADB_ROOT_PASSWORD")
# The version the datadir is at, as mariadb-upgrade would record it, so MARIADB_AUTO_UPGRADE knows it is current.
sql "${auth[@]}" -N -B -e 'SELECT VERSION()' >"$DATADIR/mariadb_upgrade_info"
# shellcheck disable=SC1090 # sourcing the user's own init scripts
for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
        *.sh) if [ -x "$f" ]; then note "running $f"; "$f"; else note "sourcing $f"; . "$f"; fi ;;
        *.sql) note "running $f"; sql "${auth[@]}" ${MARIADB_DATABASE:+--database="$MARIADB_DATABASE"} <"$f" ;;
        *.sql.gz) note "running $f"; gunzip -c "$f" | sql "${auth[@]}" ${MARIADB_DATABASE:+--database="$MARIADB_DATABASE"} ;;
        *) if [ -e "$f" ]; then note "ignoring $f"; fi ;;
    esac
done


note "Stopping temporary server"
kill "$pid"; wait "$pid" || true
note "MariaDB init process done. Ready for start up."
exec "$@"
