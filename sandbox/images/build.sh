#!/usr/bin/env bash
# Builds the sandbox's stand-in images from Debian trixie and tags them with the official images' names.
#   build.sh [name...]      names: base postgres mariadb nginx certbot wordpress python node pebble machine registry
#                           restic s3 postgres-15 mariadb-10.11 (default: all)
# postgres-15 and mariadb-10.11 are the older majors the database upgrade tests start from: the same recipes
# built on a Debian bookworm root (postgresql-15, mariadb-server 10.11), the release before trixie.
# Cached: each image carries the hash of its recipe (its folder's files, plus the base image for the others) in
# the label dropyard.recipe; an image whose label matches is reused. FORCE=1 rebuilds the images named (all if
# none are named; the base only when named or when none are), and so every image built on a rebuilt base.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export DOCKER_BUILDKIT=0 # the classic builder: Debian's docker.io has no buildx, and these recipes need nothing more

BASE=dropyard-sandbox/debian:trixie
OLD_BASE=dropyard-sandbox/debian:bookworm
declare -A TAG=(
    [postgres]=postgres:17 [mariadb]=mariadb:11 [nginx]=nginx:1.30 [certbot]=certbot/certbot:v4.0.0
    [wordpress]=wordpress:6.8-php8.4-apache [python]=python:3.13-slim [node]=node:20-slim
    [pebble]=dropyard-sandbox/pebble:2.6 [machine]=dropyard-sandbox/machine:trixie
    [restic]=restic/restic:0.18.0 [s3]=dropyard-sandbox/s3:moto
    [registry]=dropyard-sandbox/registry:2.8 [postgres-15]=postgres:15 [mariadb-10.11]=mariadb:10.11
)
# The Debian package whose upstream version the image stands for (label org.opencontainers.image.version).
declare -A PKG=(
    [postgres]=postgresql-17 [mariadb]=mariadb-server [nginx]=nginx [certbot]=certbot [wordpress]=wordpress
    [python]=python3.13 [node]=nodejs [pebble]=pebble [machine]=cloud-init [restic]=restic [s3]=python3-moto
    [registry]=docker-registry [postgres-15]=postgresql-15 [mariadb-10.11]=mariadb-server
)
# Images built from another image's recipe folder on the bookworm root, with these build arguments.
declare -A RECIPE=([postgres-15]=postgres [mariadb-10.11]=mariadb)
declare -A BUILD_ARGS=([postgres-15]="PG_MAJOR=15" [mariadb-10.11]="")
ALL=(postgres mariadb nginx certbot wordpress python node pebble machine registry restic s3 postgres-15 mariadb-10.11)

say() { echo "images: $*" >&2; }
die() { say "$*"; exit 1; }
label_of() { docker image inspect -f "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true; }

# The Debian mirrors this machine's apt uses (deb822 .sources or one-line sources.list); never written in the repo.
mirror_urls() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && awk '/^URIs:/{for (i = 2; i <= NF; i++) print $i}' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] && awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; break}}' "$f"
    done
}
# Whether a URL can be fetched: apt's own downloader (there wherever apt is, unlike curl), bounded in time.
answers() {
    local tmp; tmp=$(mktemp)
    timeout 30 /usr/lib/apt/apt-helper download-file "$1" "$tmp" >/dev/null 2>&1 && rm -f "$tmp" && return 0
    rm -f "$tmp"; return 1
}
# First URL serving the given suite (its InRelease answers), so a machine with several sources picks a Debian one.
mirror_for() {
    local suite=$1 url
    while read -r url; do
        url=${url%/}
        if answers "$url/dists/$suite/InRelease"; then echo "$url"; return 0; fi
    done < <(mirror_urls | awk '!seen[$0]++')
    return 1
}

# sha256 over every file of a recipe folder (relative path, mode, content) and any extra strings.
recipe_hash() {
    local dir=$1; shift
    {
        (cd "$dir" && find . -type f | LC_ALL=C sort | while read -r f; do stat -c '%n %a' "$f"; sha256sum <"$f"; done)
        printf '%s\n' "$@"
    } | sha256sum | cut -d' ' -f1
}

# Removes an image this run replaced, so repeated builds do not fill the disk (kept while a container uses it).
drop_old() { if [ -n "$1" ]; then docker image rm "$1" >/dev/null 2>&1 || true; fi; }

# Adds the final labels in a one-step build; the recipe label goes on last so a half-made image is never reused.
finish() {
    local tag=$1 id=$2; shift 2
    local out
    out=$(printf 'FROM %s\nLABEL %s\n' "$id" "$*" | docker build -q -t "$tag" - 2>&1) || die "labelling $tag failed: $out"
}

# build_base SUITE TAG: the debootstrap root of a Debian release as an image.
build_base() {
    local suite=$1 tag=$2
    command -v debootstrap >/dev/null || {
        say "installing debootstrap"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap </dev/null >/dev/null
    }
    local mirror security ca hash
    mirror=$(mirror_for "$suite") || die "no Debian mirror in this machine's apt sources serves $suite"
    security=$(mirror_for "$suite-security") || {
        say "no mirror serves $suite-security; the base image goes without it"; security=""
    }
    ca=$(sha256sum </etc/ssl/certs/ca-certificates.crt | cut -d' ' -f1)
    # trixie's hash takes no suite string, so the images already built on it stay cached.
    local extra=(); [ "$suite" = trixie ] || extra=("$suite")
    hash=$(recipe_hash "$here/base" "$mirror" "$security" "$ca" "${extra[@]}")
    # mkroot.sh makes trixie; another release is its one SUITE line changed (mkroot.sh itself stays as it is,
    # so the trixie base's recipe hash, and every image built on it, stays cached).
    local script; script=$(mktemp /var/tmp/dropyard-mkroot.XXXXXX.sh)
    sed "s/^SUITE=trixie\$/SUITE=$suite/" "$here/base/mkroot.sh" >"$script"
    grep -qx "SUITE=$suite" "$script" || die "mkroot.sh has no SUITE=trixie line to change"
    if [ -z "$force_base" ] && [ "$(label_of "$tag" dropyard.recipe)" = "$hash" ]; then
        rm -f "$script"; say "base $suite: cached"; return
    fi
    say "base: debootstrap $suite"
    local old; old=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
    local tar; tar=$(mktemp /var/tmp/dropyard-base.XXXXXX.tar)
    MIRROR=$mirror SECURITY_MIRROR=$security bash "$script" "$tar"
    rm -f "$script"
    local id; id=$(docker import --change 'CMD ["bash"]' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' "$tar")
    rm -f "$tar"
    local version; version=$(docker run --rm "$id" cat /etc/debian_version)
    finish "$tag" "$id" "org.opencontainers.image.version=$version" "dropyard.stand-in=debian:$suite" "dropyard.recipe=$hash"
    drop_old "$old"
}

build_one() {
    local name=$1 tag=${TAG[$1]} dir=${RECIPE[$1]:-$1} base=$BASE base_id hash
    local args=(); [ -z "${RECIPE[$1]:-}" ] || base=$OLD_BASE
    for a in ${BUILD_ARGS[$1]:-}; do args+=(--build-arg "$a"); done
    [ "$base" = "$BASE" ] || args+=(--build-arg "BASE=$base")
    base_id=$(docker image inspect -f '{{.Id}}' "$base")
    hash=$(recipe_hash "$here/$dir" "$base_id" "${args[@]}")
    if [ -z "${FORCE:-}" ] && [ "$(label_of "$tag" dropyard.recipe)" = "$hash" ]; then say "$name: cached ($tag)"; return; fi
    say "$name: building $tag"
    local old; old=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
    local log; log=$(mktemp /var/tmp/dropyard-build-"$name".XXXXXX.log)
    docker build --pull=false --force-rm "${args[@]}" -t "$tag" "$here/$dir" >"$log" 2>&1 || { tail -n 40 "$log" >&2; die "$name: build failed (log $log)"; }
    rm -f "$log"
    local deb version
    deb=$(docker run --rm --entrypoint dpkg-query "$tag" -W -f '${Version}' "${PKG[$name]}")
    version=${deb#*:}; version=${version%%-*}; version=${version%%+*}; version=${version%%~*}
    finish "$tag" "$tag" "org.opencontainers.image.version=$version" "dropyard.debian-package=${PKG[$name]}=$deb" \
        "dropyard.stand-in=$tag" "dropyard.recipe=$hash"
    drop_old "$old"
}

docker info >/dev/null 2>&1 || die "no Docker daemon answers; run sandbox/engine/engine.sh start"
names=("$@"); [ ${#names[@]} -gt 0 ] || names=(base "${ALL[@]}")
force_base=""; if [ -n "${FORCE:-}" ] && [[ " ${names[*]} " == *" base "* ]]; then force_base=1; fi
for n in "${names[@]}"; do [ "$n" = base ] || [ -n "${TAG[$n]:-}" ] || die "unknown image \"$n\"; use base or ${ALL[*]}"; done

start=$SECONDS
build_base trixie "$BASE"
for n in "${names[@]}"; do
    if [ -n "${RECIPE[$n]:-}" ]; then build_base bookworm "$OLD_BASE"; break; fi
done
for n in "${names[@]}"; do [ "$n" = base ] || build_one "$n"; done
say "done in $((SECONDS - start))s"
for n in base "${names[@]}"; do
    if [ "$n" = base ]; then tags=("$BASE"); elif [ -n "${RECIPE[$n]:-}" ]; then tags=("$OLD_BASE" "${TAG[$n]}"); else tags=("${TAG[$n]}"); fi
    for t in "${tags[@]}"; do
        printf '%-40s %8s MB  %s\n' "$t" "$(( $(docker image inspect -f '{{.Size}}' "$t") / 1000000 ))" \
            "$(label_of "$t" org.opencontainers.image.version)"
    done
done | awk '!seen[$0]++'
