#!/usr/bin/env bash
# Installs what the bench compares and measures with, when missing:
#   docker-compose  Debian's package (Compose v1, 1.29): the "docker compose up -d" column;
#   hey             Debian's package: the full-speed load generator;
#   vegeta          Go module, built with `go install`: the constant-rate load generator with per-request records;
#   kamal-proxy     Go module, built with `go install`: Kamal's proxy, the fourth column. Optional: when it does
#                   not build, the bench says so and leaves the column out.
# Binaries go to /usr/local/bin. Progress on stderr.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
missing=()
command -v docker-compose >/dev/null || missing+=(docker-compose)
[ -x /usr/bin/hey ] || missing+=(hey)
if [ ${#missing[@]} -gt 0 ]; then
    echo "bench tools: apt-get install ${missing[*]}" >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
fi
export GOBIN=/usr/local/bin
if [ ! -x "$GOBIN/vegeta" ]; then
    echo "bench tools: go install vegeta" >&2
    go install "github.com/tsenart/vegeta/v12@${VEGETA_VERSION:?set by bench/run.ts}"
fi
if [ ! -x "$GOBIN/kamal-proxy" ] && [ ! -e /var/tmp/dropyard-bench-kamal-proxy.failed ]; then
    echo "bench tools: go install kamal-proxy" >&2
    # A failure is remembered, so a later run does not rebuild for minutes to fail again.
    go install github.com/basecamp/kamal-proxy/cmd/kamal-proxy@latest >&2 \
        || { touch /var/tmp/dropyard-bench-kamal-proxy.failed; echo "bench tools: kamal-proxy did not build" >&2; }
fi
