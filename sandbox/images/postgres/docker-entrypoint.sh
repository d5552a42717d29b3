#!/usr/bin/env bash
# The official postgres image's entrypoint, in small: initialise an EMPTY $PGDATA from POSTGRES_* (and *_FILE),
# run /docker-entrypoint-initdb.d once, then exec postgres as the postgres user.
set -Eeuo pipefail

# VAR from VAR or VAR_FILE (not both), else the default.
file_env() {
    local var=$1 file=${1}_FILE def=${2:-}
    if [ -n "${!var:-}" ] && [ -n "${!file:-}" ]; then echo "error: both $var and $file are set (but are exclusive)" >&2; exit 1; fi
    local val=$def
    if [ -n "${!var:-}" ]; then val=${!var}; elif [ -n "${!file:-}" ]; then val=$(<"${!file}"); fi
    export "$var"="$val"; unset "$file"
}

# `docker run postgres:17 -c foo=bar` means postgres -c foo=bar.
if [ $# -eq 0 ] || [ "${1:0:1}" = - ]; then set -- postgres "$@"; fi

if [ "$1" != postgres ]; then exec "$@"; fi

if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA"
    chmod 00700 "$PGDATA" || :
    find "$PGDATA" \! -user postgres -exec chown postgres: '{}' +
    mkdir -p /var/run/postgresql && chown postgres: /var/run/postgresql && chmod 3777 /var/run/postgresql
    exec gosu postgres "${BASH_SOURCE[0]}" "$@"
fi

file_env POSTGRES_PASSWORD
file_env POSTGRES_USER postgres
file_env POSTGRES_DB "$POSTGRES_USER"
file_env POSTGRES_INITDB_ARGS
: "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
        cat >&2 <<'MSG'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
       connections without a password. This is *not* recommended.
MSG
        exit 1
    fi
    # Only ever initialise an empty directory (a lost+found of a fresh filesystem is allowed).
    if [ -n "$(find "$PGDATA" -mindepth 1 -maxdepth 1 -not -name lost+found -print -quit)" ]; then
        echo "error: $PGDATA is not empty and holds no database (no PG_VERSION); refusing to initialise it" >&2; exit 1
    fi
    echo "initialising database in $PGDATA"
    # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words, as in the official image
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS
    # Local socket: trust (as the official image); every other host: the chosen method.
    if [ "$POSTGRES_HOST_AUTH_METHOD" = scram-sha-256 ]; then
        echo "password_encryption = 'scram-sha-256'" >>"$PGDATA/postgresql.conf"
    fi
    printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"

    # A temporary server on the socket only, so nobody connects before initialisation is done.
    PGUSER=$POSTGRES_USER PGPASSWORD=$POSTGRES_PASSWORD \
        pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start
    psql=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
    if [ "$POSTGRES_DB" != postgres ]; then
        "${psql[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db" ;'
    fi
    for f in /docker-entrypoint-initdb.d/*; do
        # shellcheck disable=SC1090 # sourcing the user's own init scripts
        case "$f" in
            *.sh) if [ -x "$f" ]; then echo "running $f"; "$f"; else echo "sourcing $f"; . "$f"; fi ;;
            *.sql) echo "running $f"; "${psql[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
            *.sql.gz) echo "running $f"; gunzip -c "$f" | "${psql[@]}" --dbname "$POSTGRES_DB" ;;
            *) if [ -e "$f" ]; then echo "ignoring $f"; fi ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop
    echo "PostgreSQL init process complete; ready for start up."
else
    echo "PostgreSQL Database directory appears to contain a database; Skipping initialization"
fi

exec "$@"
