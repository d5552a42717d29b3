// certbot on the host: the command lines, the script that issues a certificate, the renewal script
// and its cron entry. Pure functions; test/render checks the scripts with bash -n and shellcheck.
//
// certbot runs in its own container (`docker run --rm`) with the edge's letsencrypt directory and
// ACME webroot mounted, as the user that runs host commands so the files it writes stay that user's.
// Its hooks run inside that container, where there is no docker: a deploy hook only touches a marker
// in the certificate's state directory, and the host script reloads the edge when it finds one.
import { createHash } from "node:crypto";
import { EDGE_PATHS } from "./nginx";
import { renderEdgeChange } from "./edge-files";
import { cronInstallLines, cronRemoveLines } from "./cron";
import { heredoc, shq } from "./shell";

/** The certificate's state directory (CA bundle, marker, renewal script) inside the certbot container. */
export const CERTBOT_STATE_DIR = "/dropyard";
const MARKER = "renewed";
const CA_BUNDLE = "ca.pem";

/** How certbot's container is started on the host. */
export interface CertbotRun {
    readonly image: string;
    /** Host directories: certbot's config dir (the edge mounts it read-only) and the ACME webroot. */
    readonly letsencryptDir: string;
    readonly webrootDir: string;
    /** Host directory for this certificate's CA bundle, renewal script and marker. */
    readonly stateDir: string;
    /** Extra docker networks to attach certbot to (for a test CA that only lives on one). */
    readonly networks: readonly string[];
    /** Trust `<stateDir>/ca.pem` for the ACME server's TLS (for a test CA). */
    readonly caBundle: boolean;
}

/** What to ask the CA for. */
export interface CertificateRequest {
    /** The lineage's name: `live/<certName>/`. */
    readonly certName: string;
    readonly domains: readonly string[];
    /** Absent: register without an email (only for staging or test CAs). */
    readonly email?: string;
    readonly staging: boolean;
    /** ACME directory URL. */
    readonly server?: string;
}

/**
 * `certbot certonly` through the edge's webroot, never prompting. `--keep-until-expiring` makes a
 * re-run with the same names a no-op until renewal is due; `--expand` adds names to the lineage.
 */
export function certonlyArgs(r: CertificateRequest): string[] {
    return [
        "certonly",
        "--webroot",
        "-w",
        EDGE_PATHS.webroot,
        "--cert-name",
        r.certName,
        ...r.domains.flatMap(d => ["-d", d]),
        "--non-interactive",
        "--agree-tos",
        "--keep-until-expiring",
        "--expand",
        ...(r.email !== undefined ? ["--email", r.email, "--no-eff-email"] : ["--register-unsafely-without-email"]),
        ...(r.server !== undefined ? ["--server", r.server] : r.staging ? ["--staging"] : []),
    ];
}

/** Defines `run_certbot ARGS...`: one certbot container, removed afterwards, exit status passed on. */
export function renderCertbotFunction(run: CertbotRun): string {
    const options = [
        `--user "$(id -u):$(id -g)"`,
        `-v ${shq(`${run.letsencryptDir}:${EDGE_PATHS.letsencrypt}`)}`,
        `-v ${shq(`${run.webrootDir}:${EDGE_PATHS.webroot}`)}`,
        `-v ${shq(`${run.stateDir}:${CERTBOT_STATE_DIR}`)}`,
        ...(run.caBundle ? [`-e ${shq(`REQUESTS_CA_BUNDLE=${CERTBOT_STATE_DIR}/${CA_BUNDLE}`)}`] : []),
    ].join(" ");
    // Running as a plain user, certbot needs writable work and log dirs; the container's /tmp is.
    const tail = `${shq(run.image)} "$@" --work-dir /tmp/certbot/work --logs-dir /tmp/certbot/logs`;
    if (run.networks.length === 0) {
        return ["run_certbot() {", `    docker run --rm ${options} ${tail}`, "}"].join("\n");
    }
    // `docker run` joins one network; create, connect the others, then start.
    return [
        "run_certbot() {",
        "    local cid status=0",
        `    cid=$(docker create ${options} ${tail})`,
        ...run.networks.map(n => `    docker network connect ${shq(n)} "$cid" || status=$?`),
        `    if [ "$status" -eq 0 ]; then docker start -a "$cid" || status=$?; fi`,
        `    docker rm -f "$cid" >/dev/null 2>&1 || true`,
        `    return "$status"`,
        "}",
    ].join("\n");
}

/** After certbot wrote its files: `nginx -t` and a reload, by the edge's file protocol (nothing to put back). */
function reloadEdge(edge: string, lockFile: string): string[] {
    return [renderEdgeChange({ edge: { container: edge, lockFile }, whenStopped: "fail" })];
}

export interface IssueScript {
    readonly run: CertbotRun;
    readonly request: CertificateRequest;
    /** The edge container, reloaded afterwards so a changed certificate is served. */
    readonly edge: string;
    readonly lockFile: string;
    /** PEM written to `<stateDir>/ca.pem` when `run.caBundle` is set. */
    readonly caBundlePem?: string;
}

/** Issues (or expands) the certificate, then tests and reloads the edge. */
export function renderIssueScript(s: IssueScript): string {
    if (s.run.caBundle !== (s.caBundlePem !== undefined))
        throw new Error("renderIssueScript: caBundle and caBundlePem go together");
    return [
        "set -euo pipefail",
        `mkdir -p ${[s.run.letsencryptDir, s.run.webrootDir, s.run.stateDir].map(shq).join(" ")}`,
        ...(s.caBundlePem !== undefined
            ? [heredoc(`cat > ${shq(`${s.run.stateDir}/${CA_BUNDLE}`)}`, s.caBundlePem)]
            : []),
        renderCertbotFunction(s.run),
        `run_certbot ${certonlyArgs(s.request).map(shq).join(" ")}`,
        ...reloadEdge(s.edge, s.lockFile),
        "",
    ].join("\n");
}

export interface RenewScript {
    readonly run: CertbotRun;
    readonly certName: string;
    readonly edge: string;
    readonly lockFile: string;
    /** Who installed it, for the header: e.g. `LetsEncrypt "counter-cert" on host "prod"`. */
    readonly owner: string;
}

/**
 * The renewal script installed at `<stateDir>/renew.sh`. It waits up to an hour first (so hosts do
 * not all knock at the CA on the hour), renews when due, and reloads the edge only when certbot's
 * deploy hook says something was renewed.
 */
export function renderRenewScript(s: RenewScript): string {
    const marker = `${s.run.stateDir}/${MARKER}`;
    return [
        "#!/usr/bin/env bash",
        `# dropyard: renews the certificate "${s.certName}" (${s.owner}).`,
        "# cron runs it twice a day. By hand: DROPYARD_RENEW_NOW=1 skips the random delay, and any",
        "# arguments go to `certbot renew` (e.g. --dry-run, --force-renewal).",
        "set -euo pipefail",
        `if [ -z "\${DROPYARD_RENEW_NOW:-}" ]; then sleep $((RANDOM % 3600)); fi`,
        `marker=${shq(marker)}`,
        `rm -f "$marker"`,
        renderCertbotFunction(s.run),
        // certbot sleeps up to 8 minutes before a renewal without a terminal; this script has its own delay.
        `run_certbot renew --cert-name ${shq(s.certName)} --non-interactive --no-random-sleep-on-renew --deploy-hook ${shq(`touch ${CERTBOT_STATE_DIR}/${MARKER}`)} "$@"`,
        `if [ -e "$marker" ]; then`,
        `    rm -f "$marker"`,
        ...reloadEdge(s.edge, s.lockFile)
            .flatMap(l => l.split("\n"))
            .map(l => `    ${l}`),
        `    echo ${shq(`renewed ${s.certName}; nginx in ${s.edge} reloaded`)}`,
        "fi",
        "",
    ].join("\n");
}

/**
 * Twice a day, 12 hours apart, at a minute and hour taken from a hash of `seed`: stable across
 * deploys, different between certificates and hosts.
 */
export function cronSchedule(seed: string): string {
    const h = createHash("sha256").update(seed).digest();
    const minute = h[0] % 60;
    const hour = h[1] % 12;
    return `${minute} ${hour},${hour + 12} * * *`;
}

export interface RenewalInstall {
    readonly scriptPath: string;
    readonly script: string;
    /** Absent: only the script is written; renewal is run by hand. */
    readonly cron?: { readonly file: string; readonly schedule: string; readonly owner: string };
}

/** Writes the renewal script and, when asked, the /etc/cron.d entry that runs it as this user. */
export function renderRenewalInstallScript(s: RenewalInstall): string {
    const lines = [
        "set -euo pipefail",
        `mkdir -p ${shq(dirname(s.scriptPath))}`,
        heredoc(`cat > ${shq(`${s.scriptPath}.new`)}`, s.script),
        `chmod 0755 ${shq(`${s.scriptPath}.new`)}`,
        `mv -f ${shq(`${s.scriptPath}.new`)} ${shq(s.scriptPath)}`,
    ];
    if (s.cron) {
        const command = `/bin/bash ${shq(s.scriptPath)} 2>&1 | logger -t dropyard-renew`;
        lines.push(
            ...cronInstallLines({
                file: s.cron.file,
                schedule: s.cron.schedule,
                command,
                comment: `${s.cron.owner}. Renews twice a day; the script adds a random delay.`,
                withoutRoot: `run the installing user as root, or set autoRenew: false and run ${s.scriptPath} yourself`,
            }),
        );
    }
    lines.push("");
    return lines.join("\n");
}

/** Removes the renewal script and cron entry. The certificate itself stays (see LetsEncrypt). */
export function renderRenewalRemoveScript(s: { readonly scriptPath: string; readonly cronFile?: string }): string {
    return [
        "set -euo pipefail",
        ...(s.cronFile !== undefined ? cronRemoveLines(s.cronFile) : []),
        `rm -f ${shq(s.scriptPath)}`,
        "",
    ].join("\n");
}

function dirname(p: string): string {
    return p.slice(0, p.lastIndexOf("/")) || "/";
}
