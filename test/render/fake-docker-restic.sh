#!/bin/bash
store=$FAKE_STORE
case "$1" in
    inspect) exit 0 ;;
    exec)
        if [[ " $* " == *" pg_dump "* ]]; then
            if [ -n "${FAKE_DUMP_FAIL:-}" ]; then echo 'pg_dump: error: connection to server failed' >&2; exit 1; fi
            head -c 5000 /dev/zero | tr '\0' x; exit 0
        fi
        cat >/dev/null; exit 0 ;;  # pg_restore --list
    run)
        while [ "$1" != restic/restic:0.18.0 ]; do shift; done; shift
        while [[ "$1" == --* ]]; do [ "$1" = --cacert ] && shift; shift; done
        case "$1" in
            cat) if [ -n "${FAKE_REPO_REFUSES:-}" ]; then echo 'Fatal: unable to open config file: Stat: Access Denied.' >&2; exit 1; fi; exit 0 ;;
            backup) n=$(ls "$store" | wc -l); id=$(printf 'a%07d' "$n"); cat >"$store/$id"; echo "{\"message_type\":\"summary\",\"snapshot_id\":\"$id\"}" ;;
            dump) cat "$store/$2" ;;
            forget) exit 0 ;;
        esac ;;
esac
