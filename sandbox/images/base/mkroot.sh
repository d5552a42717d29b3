#!/usr/bin/env bash
# Makes the base root: a minimal Debian trixie from debootstrap, apt pointed at this machine's own Debian mirror,
# the host's CA bundle added, tuned for containers the way the official debian images are. Writes a tarball.
#   mkroot.sh OUT.tar   (needs root, debootstrap, and the mirror URLs in MIRROR / SECURITY_MIRROR)
set -euo pipefail
out=$1
: "${MIRROR:?set MIRROR to the Debian mirror URL; build.sh reads it from the apt sources of the host}"
SUITE=trixie
# Debian's archive keyring on bookworm (2023.3+deb12u2 and later) carries the trixie release and archive keys,
# so bookworm's debootstrap verifies trixie's Release file with it.
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

root=$(mktemp -d /var/tmp/dropyard-root.XXXXXX)
trap 'rm -rf "$root"' EXIT

debootstrap --variant=minbase --include=ca-certificates --keyring="$KEYRING" \
    "$SUITE" "$root" "$MIRROR" >"$root.log" 2>&1 || {
    tail -n 40 "$root.log" >&2
    if grep -qiE 'signature|unknown key|NO_PUBKEY' "$root.log"; then
        echo "mkroot: $KEYRING lacks trixie's keys; upgrade debian-archive-keyring (2023.3+deb12u2 or later has them)" >&2
    fi
    rm -f "$root.log"; exit 1
}
rm -f "$root.log"

# apt inside the image uses the same mirror the host does; security only when that mirror answers for trixie.
{
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: %s\n' \
        "$MIRROR" "$SUITE" "$SUITE" /usr/share/keyrings/debian-archive-keyring.gpg
    if [ -n "${SECURITY_MIRROR:-}" ]; then
        printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: %s\n' \
            "$SECURITY_MIRROR" "$SUITE" /usr/share/keyrings/debian-archive-keyring.gpg
    fi
} >"$root/etc/apt/sources.list.d/debian.sources"
rm -f "$root/etc/apt/sources.list"

# The host's CA bundle (it may carry local CAs that package managers inside builds need). Kept under
# /usr/local/share/ca-certificates so a later update-ca-certificates (any apt install) keeps it in the bundle.
cp /etc/ssl/certs/ca-certificates.crt "$root/usr/local/share/ca-certificates/host-bundle.crt"
chroot "$root" update-ca-certificates >/dev/null 2>&1

# Container tuning, as in the official debian images: no services started by package scripts, no apt caches,
# no translations, and no docs or man pages (as in -slim; copyright files stay).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"; chmod 755 "$root/usr/sbin/policy-rc.d"
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'CONF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
Acquire::GzipIndexes "true";
APT::Install-Recommends "false";
Apt::AutoRemove::SuggestsImportant "false";
CONF
cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'CONF'
force-unsafe-io
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
CONF
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "${root:?}/usr/share/man/"* "${root:?}/usr/share/info/"* "${root:?}/usr/share/locale/"*

# Machine state Docker provides per container, and caches.
rm -rf "${root:?}/var/lib/apt/lists/"* "${root:?}/var/cache/apt/"*.bin "${root:?}/var/cache/apt/archives/"*.deb \
    "${root:?}/var/log/"*.log "${root:?}/var/log/apt/"* "${root:?}/dev/"* "${root:?}/tmp/"*
: >"$root/etc/machine-id"; : >"$root/etc/resolv.conf"; : >"$root/etc/hostname"

tar --numeric-owner --xattrs -C "$root" -cf "$out" .
