// The bootstrap script a droplet or server runs over SSH, and the command lines host commands send.
// Both are pure: same input, same text. The bootstrap carries the daemon's TLS key, so the caller
// must wrap the rendered script in pulumi.secret().
import { SHELL_NAME, shq } from "./shell";

/** Where the bootstrap keeps the daemon's TLS files on the host. */
export const TLS_DIR = "/etc/docker/dropyard";
/** The systemd drop-in that makes dockerd listen on 2376 with mutual TLS. */
export const DROP_IN = "/etc/systemd/system/docker.service.d/dropyard.conf";
/** The port the Docker API is served on (the IANA port for Docker over TLS). */
export const DOCKER_TLS_PORT = 2376;

export interface BootstrapInput {
    /** PEM of the CA that signed both the server and the client certificate. */
    readonly caCertPem: string;
    /** PEM of the daemon's certificate (SANs: the host's address and 127.0.0.1). */
    readonly serverCertPem: string;
    /** PEM of the daemon's private key. Secret. */
    readonly serverKeyPem: string;
    /** PEM of a client certificate, used only to check the daemon answers over TLS. */
    readonly clientCertPem: string;
    /** PEM of that client's key. Secret; lives in a temporary directory during the check. */
    readonly clientKeyPem: string;
    /** Absolute path of dropyard's data directory, created when missing. */
    readonly dataDir: string;
}

const EOF = "DROPYARD_EOF";

/** A quoted heredoc; refuses content that would end it early. */
function heredoc(content: string): string {
    if (content.split("\n").includes(EOF)) throw new Error(`file content contains the line ${EOF}`);
    return `<<'${EOF}'\n${content.endsWith("\n") ? content : `${content}\n`}${EOF}`;
}

/**
 * One idempotent bash script: wait for cloud-init, install Docker (daemon and CLI) when missing, put the TLS files
 * and the systemd drop-in in place, restart the daemon only when one of them changed (or it is not
 * running), then check that it answers on 2376 over mutual TLS.
 */
export function renderBootstrap(input: BootstrapInput): string {
    const tls = (file: string) => `${TLS_DIR}/${file}`;
    return `#!/usr/bin/env bash
# dropyard bootstrap, rendered by lib/render/bootstrap.ts. Safe to run again: it only changes what differs.
set -euo pipefail
umask 077
export DEBIAN_FRONTEND=noninteractive
log() { printf 'dropyard-bootstrap: %s\\n' "$*" >&2; }

# The script arrives on bash's standard input (bash -s): everything runs inside main, which bash reads
# whole before it starts, with stdin from /dev/null so no command can swallow the rest of the script.
main() {

# First boot: cloud-init may still be installing packages and holding apt's lock.
if command -v cloud-init >/dev/null 2>&1; then
    log "waiting for cloud-init"
    cloud-init status --wait >/dev/null || log "cloud-init reported errors; continuing"
fi

# Both the daemon and the docker command: the check below and every host command (the edge's nginx -t and
# reload, the deploy step, certbot) call docker on the host. Debian 13's docker.io (26.x) holds only the
# daemon; the command is in docker-cli, which docker.io merely recommends. Ubuntu's docker.io carries both.
# And cron: certificate renewal, scheduled jobs and backups are /etc/cron.d entries (minimal images lack it).
packages=()
if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then packages+=(docker.io); fi
if ! command -v cron >/dev/null 2>&1 && ! command -v crond >/dev/null 2>&1; then packages+=(cron); fi
if [ "\${#packages[@]}" -gt 0 ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        log "missing: \${packages[*]}, and this is not Ubuntu or Debian; install Docker (dockerd and the docker command) and cron, and run again"
        exit 1
    fi
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    if [[ " \${packages[*]} " == *" docker.io "* ]]; then
        cli=$(apt-cache policy docker-cli 2>/dev/null | awk '$1 == "Candidate:" {print $2}')
        if [ -n "$cli" ] && [ "$cli" != "(none)" ]; then packages+=(docker-cli); fi
    fi
    log "installing \${packages[*]}"
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "\${packages[@]}"
fi
for cmd in dockerd docker; do
    if ! command -v "$cmd" >/dev/null 2>&1; then
        log "$cmd is still missing after installing Docker; install it (docker.io, and docker-cli where it exists) and run again"
        exit 1
    fi
done

changed=0
# put PATH MODE < content: replaces PATH only when the content differs, and notes the change.
put() {
    local path=$1 mode=$2 tmp
    tmp=$(mktemp "$path.XXXXXX")
    cat >"$tmp"
    if [ -f "$path" ] && cmp -s "$tmp" "$path"; then
        rm -f "$tmp"
    else
        mv -f "$tmp" "$path"
        changed=1
    fi
    chmod "$mode" "$path"
}

install -d -m 0755 ${shq(TLS_DIR)} /etc/systemd/system/docker.service.d
put ${shq(tls("ca.pem"))} 0644 ${heredoc(input.caCertPem)}
put ${shq(tls("server-cert.pem"))} 0644 ${heredoc(input.serverCertPem)}
put ${shq(tls("server-key.pem"))} 0600 ${heredoc(input.serverKeyPem)}

# Replace the packaged ExecStart (an empty ExecStart= clears it) so -H fd:// and our TCP listener
# are given once, on the command line, and never clash with "hosts" in daemon.json.
dockerd_bin=$(command -v dockerd)
containerd_flag=""
unit=$(systemctl show --property=FragmentPath --value docker.service)
if [ -n "$unit" ] && grep -q -- "--containerd=/run/containerd/containerd.sock" "$unit"; then
    containerd_flag=" --containerd=/run/containerd/containerd.sock"
fi
# Debian's and Ubuntu's units add $DOCKER_OPTS (from /etc/default/docker, their EnvironmentFile, which the
# drop-in keeps): the replacement ExecStart keeps passing them, so options set there still apply.
opts_flag=""
if [ -n "$unit" ] && grep -qF -- "\\$DOCKER_OPTS" "$unit"; then
    opts_flag=" \\$DOCKER_OPTS"
fi
put ${shq(DROP_IN)} 0644 <<${EOF}
[Service]
ExecStart=
ExecStart=$dockerd_bin -H fd://$containerd_flag$opts_flag -H tcp://0.0.0.0:${DOCKER_TLS_PORT} --tlsverify --tlscacert=${tls("ca.pem")} --tlscert=${tls("server-cert.pem")} --tlskey=${tls("server-key.pem")}
${EOF}

if [ "$changed" = 1 ] || ! systemctl is-active --quiet docker.service; then
    log "restarting docker"
    systemctl daemon-reload
    systemctl enable --quiet docker.service
    systemctl restart docker.service
fi

install -d -m 0755 ${shq(input.dataDir)}

# The check uses the client certificate from a temporary directory that is removed on exit.
check_dir=$(mktemp -d)
trap 'rm -rf "$check_dir"' EXIT
cat >"$check_dir/cert.pem" ${heredoc(input.clientCertPem)}
cat >"$check_dir/key.pem" ${heredoc(input.clientKeyPem)}
# Every attempt's output is kept: when the daemon never answers, the last error and the daemon's journal say why.
check_out=""
for _ in $(seq 1 30); do
    if check_out=$(docker --tlsverify --tlscacert=${tls("ca.pem")} --tlscert="$check_dir/cert.pem" --tlskey="$check_dir/key.pem" \\
        -H tcp://127.0.0.1:${DOCKER_TLS_PORT} version 2>&1); then
        log "docker answers on ${DOCKER_TLS_PORT} with mutual TLS"
        exit 0
    fi
    sleep 2
done
log "docker did not answer on ${DOCKER_TLS_PORT} with mutual TLS within 60s; the last attempt said:"
printf '%s\\n' "$check_out" >&2
log "the end of the daemon's journal (journalctl -u docker.service):"
journalctl -u docker.service --no-pager -n 40 >&2 || true
exit 1
}

main </dev/null
`;
}

/**
 * The command line a host command sends over SSH. sshd runs it with the user's login shell, and
 * usually refuses the environment a client asks for (SetEnv/AcceptEnv), so the environment travels
 * as `export` lines in front of the script and the whole text runs under `bash -c` (with `sudo -n`
 * for users other than root). Secret environment values make the result secret at the call site.
 */
export function renderRemoteCommand(environment: Record<string, string>, script: string, sudo: boolean): string {
    for (const key of Object.keys(environment)) {
        if (!SHELL_NAME.test(key)) throw new Error(`environment key "${key}" is not a shell variable name`);
    }
    const exports = Object.keys(environment)
        .sort()
        .map(k => `export ${k}=${shq(environment[k])}\n`)
        .join("");
    return `${sudo ? "sudo -n " : ""}bash -c ${shq(exports + script)}`;
}
