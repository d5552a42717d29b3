#!/bin/sh
# Flags alone go to pebble with the image's config: `docker run IMAGE -dnsserver 10.0.0.3:8053`.
# Anything else runs as given: `docker run IMAGE pebble-challtestsrv -defaultIPv4 10.0.0.2 -defaultIPv6 ""`.
set -e
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
    set -- pebble -config /etc/pebble/pebble-config.json "$@"
fi
exec "$@"
