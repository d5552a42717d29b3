#!/bin/sh
# The official node image's entrypoint: `docker run node:20-slim app.js` or `-e '…'` runs node.
set -e
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ] || { [ -f "$1" ] && ! command -v "$1" >/dev/null 2>&1; }; then
    set -- node "$@"
fi
exec "$@"
