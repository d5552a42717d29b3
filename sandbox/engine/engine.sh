#!/usr/bin/env bash
# The sandbox's Docker engine: Debian's docker.io, dockerd run in the background by this script.
#   engine.sh start   install docker.io if dockerd is missing; start dockerd unless a daemon already answers
#   engine.sh stop    stop the dockerd that `start` started (never a daemon someone else runs)
#   engine.sh status  say whether a daemon answers, which storage driver it uses, and who started it
#   engine.sh reset   make the daemon `start` started bare again: no containers, no volumes, no networks but
#                     the three defaults (images stay: they are what the scripts build); then check it is so
# DROPYARD_ENGINE_DATA_ROOT starts the daemon on another data root, e.g. an empty one to try a fresh machine.
# Works as root on a fresh Debian machine and in CI (no stdin). State lives outside the work tree because the
# daemon is machine-wide: a checkout that did not start it can still stop it.
set -euo pipefail

STATE=${DROPYARD_ENGINE_STATE:-/run/dropyard-engine}
PIDFILE=$STATE/dockerd.pid
LOG=${DROPYARD_ENGINE_LOG:-/var/log/dropyard-dockerd.log}
WAIT_SECONDS=${DROPYARD_ENGINE_WAIT:-60}
DATA_ROOT=${DROPYARD_ENGINE_DATA_ROOT:-/var/lib/docker}

say() { echo "engine: $*" >&2; }
die() { say "$*"; exit 1; }
answers() { timeout 10 docker info >/dev/null 2>&1; }
our_pid() {
    # The pid we recorded, only while that process is still a dockerd (pids get reused).
    [ -f "$PIDFILE" ] || return 1
    local pid; pid=$(cat "$PIDFILE")
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] && echo "$pid"
}

install_engine() {
    command -v dockerd >/dev/null && return 0
    [ "$(id -u)" = 0 ] || die "dockerd is missing and installing it needs root; run as root"
    say "installing Debian's docker.io"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq </dev/null >/dev/null
    # iptables: dockerd programs NAT for bridge networks and published ports; it is a hard dependency of docker.io.
    apt-get install -y -qq --no-install-recommends docker.io iptables </dev/null >/dev/null
    command -v dockerd >/dev/null || die "docker.io installed but dockerd is not on PATH"
}

# overlay2 is the fast driver; vfs copies every layer in full (slow, large) and is used only when this
# kernel/filesystem cannot mount overlayfs (e.g. the data root already lives on an overlay without support).
storage_driver() {
    mkdir -p "$DATA_ROOT"
    local d; d=$(mktemp -d "$DATA_ROOT/.overlay-probe.XXXXXX")
    mkdir "$d/lower" "$d/upper" "$d/work" "$d/merged"
    if mount -t overlay overlay -o "lowerdir=$d/lower,upperdir=$d/upper,workdir=$d/work" "$d/merged" 2>/dev/null; then
        umount "$d/merged"; rm -rf "$d"; echo overlay2
    else
        rm -rf "$d"
        say "overlayfs cannot be mounted under $DATA_ROOT on this machine; falling back to the vfs driver (slower, more disk)"
        echo vfs
    fi
}

check_machine() {
    # cgroups: dockerd needs a mounted cgroup hierarchy (v1 or v2); minimal machines may have none.
    if ! grep -qE '^cgroup2? ' /proc/mounts; then
        say "no cgroup hierarchy mounted; mounting one"
        if [ -x /usr/bin/cgroupfs-mount ]; then cgroupfs-mount
        else mount -t cgroup2 none /sys/fs/cgroup || die "cannot mount cgroups; dockerd cannot run here"; fi
    fi
    # Firewall: Debian's iptables uses the nf_tables backend; fall back to the legacy backend only if the
    # kernel lacks nf_tables.
    if ! iptables -t nat -L -n >/dev/null 2>&1; then
        if command -v iptables-legacy >/dev/null && iptables-legacy -t nat -L -n >/dev/null 2>&1; then
            say "iptables (nf_tables) does not work here; switching to iptables-legacy"
            update-alternatives --set iptables /usr/sbin/iptables-legacy >/dev/null
            update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy >/dev/null
        else
            die "iptables cannot list the nat table (no nf_tables or legacy support in this kernel); dockerd needs it for bridge networks"
        fi
    fi
}

# A dockerd that was killed (or stopped while a container's shim hung) leaves its containers' network namespaces
# mounted under /run/docker/netns, with their veths still on docker0. The next daemon hands out the same addresses
# (172.17.0.2 ...), and the kernel then delivers to the dead namespace: connections to the new container are refused.
clean_stale_netns() {
    pgrep -x dockerd >/dev/null && return 0
    local ns n=0
    for ns in /run/docker/netns/*; do
        if [ ! -e "$ns" ] || [ "$(basename "$ns")" = default ]; then continue; fi
        umount "$ns" 2>/dev/null || true
        rm -f "$ns" && n=$((n + 1))
    done
    [ "$n" = 0 ] || say "removed $n network namespaces a previous dockerd left behind"
}

start() {
    if answers; then say "a Docker daemon already answers; leaving it alone"; return 0; fi
    install_engine
    [ "$(id -u)" = 0 ] || die "starting dockerd needs root"
    check_machine
    clean_stale_netns
    local driver; driver=$(storage_driver)
    mkdir -p "$STATE" "$(dirname "$LOG")"
    say "starting dockerd (storage driver $driver, log $LOG)"
    # setsid + nohup: the daemon outlives this shell and CI's step; stdin from /dev/null for CI.
    setsid nohup dockerd --storage-driver="$driver" --data-root="$DATA_ROOT" >>"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    local i
    for ((i = 0; i < WAIT_SECONDS; i++)); do
        if answers; then say "dockerd answers (pid $(cat "$PIDFILE"))"; return 0; fi
        our_pid >/dev/null || { tail -n 30 "$LOG" >&2; die "dockerd exited during start-up; see $LOG"; }
        sleep 1
    done
    tail -n 30 "$LOG" >&2
    die "dockerd did not answer within ${WAIT_SECONDS}s; see $LOG"
}

stop() {
    local pid
    if ! pid=$(our_pid); then rm -f "$PIDFILE"; say "no dockerd started by this script is running"; return 0; fi
    say "stopping dockerd (pid $pid)"
    kill -TERM "$pid"
    local i
    # dockerd stops its containers (10 s grace each, in parallel) and its containerd before exiting.
    for ((i = 0; i < 60; i++)); do
        [ -d "/proc/$pid" ] || { rm -f "$PIDFILE"; say "stopped"; return 0; }
        sleep 1
    done
    die "dockerd (pid $pid) did not exit within 60s"
}

status() {
    if answers; then
        local who="someone else"; our_pid >/dev/null && who="engine.sh (pid $(cat "$PIDFILE"))"
        say "running: server $(docker version -f '{{.Server.Version}}'), storage driver $(docker info -f '{{.Driver}}'), started by $who"
    else
        say "no Docker daemon answers"; return 1
    fi
}

# Only a daemon this script started is reset: a developer's own engine holds things that are not ours.
reset() {
    answers || die "no Docker daemon answers; start one first"
    our_pid >/dev/null || die "the daemon that answers was not started by engine.sh; refusing to remove its containers"
    local containers networks volumes
    containers=$(docker ps -aq)
    [ -z "$containers" ] || { say "removing $(wc -w <<<"$containers") containers"; docker rm -f $containers >/dev/null; }
    docker network prune -f >/dev/null
    volumes=$(docker volume ls -q)
    [ -z "$volumes" ] || { say "removing $(wc -w <<<"$volumes") volumes"; docker volume rm -f $volumes >/dev/null; }
    containers=$(docker ps -aq | wc -l)
    networks=$(docker network ls --format '{{.Name}}' | sort | tr '\n' ' ')
    volumes=$(docker volume ls -q | wc -l)
    [ "$containers" = 0 ] && [ "$networks" = "bridge host none " ] && [ "$volumes" = 0 ] ||
        die "the engine is not bare after reset: $containers containers, networks: $networks, $volumes volumes"
    say "bare: no containers, no volumes, networks bridge host none; $(docker images -q | wc -l) images kept"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    reset) reset ;;
    *) echo "usage: $0 start|stop|status|reset" >&2; exit 2 ;;
esac
