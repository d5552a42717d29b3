#!/usr/bin/env bash
# healthcheck.sh of the official mariadb image, in small: every test named must pass, else exit 1.
#   --connect                     the server accepts a TCP connection on localhost (an auth error still counts)
#   --innodb_initialized          InnoDB is up (information_schema.ENGINES says so)
#   --innodb_buffer_pool_loaded   the buffer pool load at start-up has finished
#   --defaults-file=F --defaults-extra-file=F --defaults-group-suffix=S --no-defaults   client option files
# Credentials default to $datadir/.my-healthcheck.cnf, written by the entrypoint at initialisation.
set -eo pipefail

datadir=/var/lib/mysql
file="" extra="" suffix="" nodefaults=""
[ -r "$datadir/.my-healthcheck.cnf" ] && extra=$datadir/.my-healthcheck.cnf
tests=()
while [ $# -gt 0 ]; do
    case "$1" in
        --connect | --innodb_initialized | --innodb_buffer_pool_loaded) tests+=("${1#--}") ;;
        --defaults-file=*) file=${1#*=} ;;
        --defaults-extra-file=*) extra=${1#*=} ;;
        --defaults-group-suffix=*) suffix=${1#*=} ;;
        --no-defaults) nodefaults=1 ;;
        --datadir=*) datadir=${1#*=}; extra=$datadir/.my-healthcheck.cnf ;;
        --su=* | --su-mysql) ;; # docker exec runs this as root, which can read the credentials anyway
        *) echo "healthcheck.sh: unknown option $1" >&2; exit 1 ;;
    esac
    shift
done
[ ${#tests[@]} -gt 0 ] || { echo "healthcheck.sh: name at least one test, e.g. --connect" >&2; exit 1; }

client() {
    # Option files must come first on the command line.
    mariadb ${nodefaults:+--no-defaults} ${file:+--defaults-file="$file"} ${extra:+--defaults-extra-file="$extra"} \
        ${suffix:+--defaults-group-suffix="$suffix"} "$@"
}
value() { client --skip-ssl --skip-ssl-verify-server-cert -B --skip-column-names -e "$1"; }

connect() {
    local out
    out=$(client --skip-ssl --skip-ssl-verify-server-cert -h localhost --protocol tcp -e 'select 1' 2>&1) && return 0
    ! grep -qF "Can't connect" <<<"$out"
}
innodb_initialized() {
    [ "$(value "select 1 from information_schema.ENGINES WHERE engine='innodb' AND support in ('YES', 'DEFAULT', 'ENABLED')")" = 1 ]
}
innodb_buffer_pool_loaded() {
    value "select VARIABLE_VALUE from information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='Innodb_buffer_pool_load_status'" \
        | grep -qE '^Buffer pool\(s\) load completed'
}

for t in "${tests[@]}"; do
    "$t" || { echo "healthcheck $t failed" >&2; exit 1; }
done
