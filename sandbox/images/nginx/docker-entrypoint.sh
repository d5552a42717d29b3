#!/bin/sh
# The official nginx image's entrypoint, in small: when starting nginx, run the executable
# /docker-entrypoint.d/*.sh first (templates with envsubst are not supported here).
set -eu
if [ "${1:-}" = nginx ] || [ "${1:-}" = nginx-debug ]; then
    for f in /docker-entrypoint.d/*.sh; do
        if [ -x "$f" ]; then echo "$0: Launching $f"; "$f"; fi
    done
fi
exec "$@"
