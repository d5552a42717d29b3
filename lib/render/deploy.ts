// The deploy step's host script, run after an App's new web containers start and before Pulumi
// removes the old ones: health, the edge moved to the new generation, drain. What each step does
// and why: docs/architecture.md#the-deploy-sequence (step 4).

import { EdgeRef, renderEdgeChange } from "./edge-files";
import { DOCKER_DNS } from "./nginx";
import { shq } from "./shell";

/** Space-separated names of the new web containers, set by the App. */
export const DEPLOY_CONTAINERS = "DROPYARD_WEB_CONTAINERS";
/** The edge's upstream file for the App, as `renderUpstreamGroup` gives it, set by the App. */
export const DEPLOY_UPSTREAM_FILE = "DROPYARD_UPSTREAM_FILE";

/** A name Docker gives a container or an alias, and so one nginx may resolve through Docker's DNS. */
const CONTAINER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * The nginx upstream group an App's vhost proxies to: `dropyard_<app>` with `-` as `_` (App names are
 * lower-case letters, digits and hyphens, so two apps never share one).
 */
export function upstreamGroup(app: string): string {
    return `dropyard_${app.replace(/-/g, "_")}`;
}

/**
 * The short id (12 hex digits) Docker's DNS answers for a container on its user-defined networks. A name comes back
 * when a container is made again under it; an id never does, so nginx, which carries a name's addresses over a
 * reload, never carries a gone container's address to its successor.
 */
export function shortId(id: string): string {
    return id.slice(0, 12);
}

/**
 * The App's file in the edge's conf.d (`upstream-<app>.conf`): its group, holding the live generation's
 * containers by their short ids (`shortId`). `resolve` (nginx 1.27.3 and later) lets nginx start while a name
 * does not resolve (after a reboot, before the app's containers) and follows a container's address when it
 * restarts; a named group keeps connections to the app open between requests, which a name resolved per request
 * cannot (nginx 1.29.7 and later do so unasked; `keepalive` says it for 1.27.3 to 1.29.6). Idle ones close after
 * 4 s, before the 5 s after which common app servers (Node, uvicorn) close them.
 */
export function renderUpstreamGroup(app: string, servers: readonly string[], port: number): string {
    if (servers.length === 0) throw new Error("renderUpstreamGroup: no servers");
    for (const s of servers)
        if (!CONTAINER_NAME.test(s)) throw new Error(`renderUpstreamGroup: "${s}" is not a container name`);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`renderUpstreamGroup: port ${port}`);
    const group = upstreamGroup(app);
    return [
        `# dropyard: where the edge sends App "${app}"'s requests: its current web containers. Rewritten on every deploy.`,
        `upstream ${group} {`,
        `    zone ${group} 64k;`,
        `    resolver ${DOCKER_DNS} valid=5s ipv6=off;`,
        "    resolver_timeout 5s;",
        ...servers.map(s => `    server ${s}:${port} resolve;`),
        "    keepalive 16;",
        "    keepalive_timeout 4s;",
        "}",
        "",
    ].join("\n");
}

export interface DeployScript {
    /** Seconds the new containers get to become healthy (all of them together). */
    readonly waitSeconds: number;
    /** The edge to move over; absent for an app that is not on the edge network. */
    readonly edge?: EdgeRef & {
        /** The App's upstream file on the host, in the edge's conf.d. */
        readonly upstreamFile: string;
        /** Longest wait, in seconds, for the previous nginx workers to finish (open websockets keep them). */
        readonly drainSeconds: number;
        /** The port the web containers serve on, for the first HTTP answer asked before the switch. */
        readonly webPort: number;
    };
}

// The two waits that run inside the edge run there whole, in one `docker exec` each: an exec costs the engine
// about 0.1 s of CPU (dockerd, containerd, runc), so one every 0.2 s for a wait of seconds takes half a core
// from the app it waits for (bench/README.md).

/**
 * bash in the edge, `bash -c WARM_LOOP warm <host> <port> <seconds>`: asks `HEAD /` every 0.2 s until a status line
 * comes back (exit 0) or the seconds are up (exit 3, apart from docker's own 1, 126 and 127). Each attempt waits for
 * its answer as long as time is left: a server that accepted is loading the app.
 */
export const WARM_LOOP = [
    "end=$((SECONDS + $3))",
    "while :; do",
    '    left=$((end - SECONDS)); [ "$left" -ge 1 ] || left=1',
    '    if (exec 3<>"/dev/tcp/$1/$2" && printf "HEAD / HTTP/1.0\\r\\n\\r\\n" >&3 && IFS= read -r -t "$left" line <&3 && [ -n "$line" ]) 2>/dev/null; then exit 0; fi',
    '    [ "$SECONDS" -lt "$end" ] || exit 3',
    "    sleep 0.2",
    "done",
].join("\n");

/**
 * sh in the edge, `sh -c DRAIN_LOOP drain <seconds> <file>...`: exit 0 once none of the files (the old nginx
 * workers' /proc entries) exists, checking every 0.2 s; exit 1 when the seconds are up first.
 */
export const DRAIN_LOOP = [
    "end=$(( $(date +%s) + $1 )); shift",
    "while :; do",
    "    gone=1",
    '    for f in "$@"; do [ -e "$f" ] && gone=0; done',
    '    [ "$gone" = 1 ] && exit 0',
    '    [ "$(date +%s)" -lt "$end" ] || exit 1',
    "    sleep 0.2",
    "done",
].join("\n");

/** Prints why container "$1" failed ("$2"), its last healthcheck output and its last log lines, on stderr. */
const REPORT_FUNCTION = [
    "report() {",
    `    echo "web container $1 $2; the previous containers keep serving" >&2`,
    "    local probe",
    // One record per check, each ended by a marker line; awk keeps the last record.
    `    probe=$(docker inspect -f '{{if .State.Health}}{{range .State.Health.Log}}{{println .Output}}@@dropyard@@{{println}}{{end}}{{end}}' "$1" 2>/dev/null \\`,
    `        | awk '/^@@dropyard@@$/ { last = buf; buf = ""; next } { buf = buf $0 "\\n" } END { printf "%s", last }' | grep -v '^[[:space:]]*$' | tail -n 5 || true)`,
    `    if [ -n "$probe" ]; then printf '%s\\n' "--- last healthcheck output ---" "$probe" >&2; fi`,
    `    echo "--- last 10 log lines of $1 ---" >&2`,
    `    docker logs --tail 10 "$1" 2>&1 | grep -v '^[[:space:]]*$' >&2 || true`,
    "}",
].join("\n");

/**
 * sh in a new web container, `sh -c PROBE_LOOP probe <seconds> <command>...`: runs the command every 0.2 s until
 * it passes (exit 0) or the seconds are up (exit 1).
 */
export const PROBE_LOOP = [
    "end=$(( $(date +%s) + $1 )); shift",
    'until "$@"; do',
    '    [ "$(date +%s)" -lt "$end" ] || exit 1',
    "    sleep 0.2 2>/dev/null || sleep 1",
    "done",
].join("\n");

/**
 * Runs container "$1"'s own healthcheck in it now, as Docker will at its next interval, again every 0.2 s for
 * up to "$2" seconds until it passes. Docker runs the first check one interval (5 s by default) after the start;
 * probing meanwhile lets a new container pass the wait as soon as its check passes. The repeating runs inside the
 * container (PROBE_LOOP), one `docker exec` for the whole try; an image without /bin/sh gets one check a call.
 * The check and its timeout come from the container.
 */
const PROBE_FUNCTION = [
    "probe() {",
    "    local spec timeout kind code",
    // Line 1: the timeout in ns and the test's kind; then its arguments, one a line.
    `    mapfile -t spec < <(docker inspect -f '{{with .Config.Healthcheck}}{{printf "%d" .Timeout}} {{index .Test 0}}{{range $i, $a := .Test}}{{if $i}}{{printf "\\n%s" $a}}{{end}}{{end}}{{end}}' "$1" 2>/dev/null)`,
    `    [ "\${#spec[@]}" -ge 2 ] || return 1`,
    `    read -r timeout kind <<<"\${spec[0]}"`,
    `    timeout=$(( (timeout + 999999999) / 1000000000 )); [ "$timeout" -ge 1 ] || timeout=30 # Docker's default`,
    `    case "$kind" in`,
    `        CMD-SHELL) local IFS=$'\\n'; set -- "$1" "$2" /bin/sh -c "\${spec[*]:1}" ;;`,
    `        CMD) set -- "$1" "$2" "\${spec[@]:1}" ;;`,
    "        *) return 1 ;;",
    "    esac",
    "    # shellcheck disable=SC2016 # expanded by the container's sh",
    `    timeout $((timeout + $2)) docker exec "$1" /bin/sh -c ${shq(PROBE_LOOP)} probe "$2" "\${@:3}" >/dev/null 2>&1 && return 0`,
    "    code=$?",
    '    [ "$code" -eq 126 ] || [ "$code" -eq 127 ] || return 1 # 126, 127: no /bin/sh in the image',
    `    timeout "$timeout" docker exec "$1" "\${@:3}" >/dev/null 2>&1`,
    "}",
].join("\n");

/**
 * The script (bash). Values that change per deploy arrive in the environment: DEPLOY_CONTAINERS and
 * DEPLOY_UPSTREAM_FILE.
 */
export function renderDeployScript(d: DeployScript): string {
    if (!Number.isInteger(d.waitSeconds) || d.waitSeconds < 1)
        throw new RangeError(`renderDeployScript: waitSeconds ${d.waitSeconds}`);
    const lines = [
        "set -euo pipefail",
        `read -r -a containers <<<"\${${DEPLOY_CONTAINERS}:-}"`,
        `if [ "\${#containers[@]}" -eq 0 ]; then echo "${DEPLOY_CONTAINERS} is empty" >&2; exit 1; fi`,
        REPORT_FUNCTION,
        PROBE_FUNCTION,
        "",
        "# 1. Every new web container healthy (or, without a healthcheck, running); its check is run directly while it starts.",
        `deadline=$((SECONDS + ${d.waitSeconds}))`,
        `for c in "\${containers[@]}"; do`,
        "    while :; do",
        `        state=$(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$c" 2>&1) \\`,
        `            || { echo "web container $c: $state" >&2; exit 1; }`,
        `        case "$state" in`,
        `            "running healthy" | "running none") break ;;`,
        `            "running unhealthy") report "$c" "is unhealthy"; exit 1 ;;`,
        // Probing in turns of up to 5 s, so Docker's own verdict (unhealthy, exited) is read between them.
        `            "running starting") if probe "$c" $((deadline - SECONDS > 5 ? 5 : deadline - SECONDS > 1 ? deadline - SECONDS : 1)); then break; fi ;;`,
        `            *) report "$c" "is not running (\${state% *})"; exit 1 ;;`,
        "        esac",
        `        if [ "$SECONDS" -ge "$deadline" ]; then report "$c" "is not healthy after ${d.waitSeconds}s"; exit 1; fi`,
        "        sleep 0.2",
        "    done",
        "done",
    ];
    if (d.edge === undefined) return [...lines, `echo "healthy: \${containers[*]}"`, ""].join("\n");
    const e = d.edge;
    if (!Number.isInteger(e.webPort) || e.webPort < 1 || e.webPort > 65535)
        throw new RangeError(`renderDeployScript: webPort ${e.webPort}`);
    const dir = e.upstreamFile.slice(0, e.upstreamFile.lastIndexOf("/")) || "/";
    /** The upstream file from shell variable `env`, by the edge's file protocol. */
    const putUpstream = (env: string) =>
        renderEdgeChange({
            edge: e,
            dirs: [dir],
            put: [{ path: e.upstreamFile, content: { env } }],
            whenStopped: "fail",
            wording: { rejected: "the new upstream file", restored: "the previous one is" },
        });
    return [
        ...lines,
        "",
        "# 2. A first HTTP answer from each of them, asked from the edge over the network it will use: a server that",
        "# binds its port before its workers have loaded the app (gunicorn, puma) passes a TCP check while requests",
        "# sent to it would wait for that load. Any status line counts; an edge image without bash skips this.",
        `edge=${shq(e.container)}`,
        `for c in "\${containers[@]}"; do`,
        "    code=0",
        "    # shellcheck disable=SC2016 # expanded by the edge's bash",
        `    docker exec "$edge" bash -c ${shq(WARM_LOOP)} warm "$c" ${e.webPort} $((deadline - SECONDS > 1 ? deadline - SECONDS : 1)) 2>/dev/null || code=$?`,
        '    case "$code" in',
        "        0) ;;",
        `        3) echo "warning: web container $c gave no HTTP answer within the ${d.waitSeconds}s wait; the edge moves to it all the same" >&2 ;;`,
        "        *) break ;; # no bash in the edge image (126, 127), or no edge running (1): the change below says so",
        "    esac",
        "done",
        "",
        "# 3. Point the edge at them. A reload carries each server's addresses over from the workers before it; a server",
        "# they did not have starts with none until the new workers look it up, and a request in that moment would have",
        "# nowhere to go. So the new containers go in first beside the live ones, marked down, for the workers of that",
        "# reload to look them up; the second reload, with the new ones alone, carries their addresses over.",
        `file=${shq(e.upstreamFile)}`,
        `upstream=$${DEPLOY_UPSTREAM_FILE}`,
        "# Before 2026-12-02 this file held a map setting $dropyard_upstream_<app> to web-1's name, and the App's vhosts",
        "# proxied to http://$dropyard_upstream_<app>:<port>. An upgrade rewrites those vhosts after this step: while a",
        "# file here still names the variable, it stays, set to the new web-1's name.",
        "# shellcheck disable=SC2016 # nginx's variables, not the shell's",
        `legacy=$(sed -n 's/^map \\$host \\(\\$dropyard_upstream_[a-z0-9_]*\\) {$/\\1/p' "$file" 2>/dev/null | head -n 1 || true)`,
        `if [ -n "$legacy" ] && grep -lwsF -- "$legacy" ${shq(dir)}/*.conf | grep -vxF -- "$file" >/dev/null; then`,
        "    # shellcheck disable=SC2016",
        `    printf -v compat '\\nmap $host %s {\\n    default %s;\\n}\\n' "$legacy" "\${containers[0]}"`,
        "    upstream+=$compat",
        "fi",
        `servers() { grep -E '^    server [^ ]+ resolve;$' "$@" 2>/dev/null || true; }`,
        `previous=$(servers "$file" | grep -vxF -f <(printf '%s\\n' "$upstream" | servers) || true)`,
        'if [ -n "$previous" ]; then',
        `    beside=$(printf '%s\\n' "$upstream" | previous="$previous" awk '/^    server / { sub(/ resolve;$/, " resolve down;") } /^    keepalive / && !done { print ENVIRON["previous"]; done = 1 } { print }')`,
        putUpstream("beside"),
        "    sleep 0.3 # the new workers ask Docker's DNS for the new names as they start",
        "fi",
        putUpstream("upstream"),
        "# The workers serving before this reload (those of the first reload too) finish their requests and exit.",
        "old=$edge_workers_before",
        "exec 9>&- # release the edge lock: the wait below changes nothing",
        "",
        "# 4. Drain: the old containers are stopped only after Pulumi sees this step done.",
        "started=$SECONDS",
        "# shellcheck disable=SC2016,SC2086 # expanded by the edge's sh; one /proc path per word",
        `if [ -n "$old" ] && ! docker exec "$edge" sh -c ${shq(DRAIN_LOOP)} drain ${e.drainSeconds} $old; then`,
        `    echo "previous nginx workers still have open connections (websockets?) after ${e.drainSeconds}s; going on" >&2`,
        "fi",
        `echo "the edge now sends requests to \${containers[*]}; previous nginx workers finished in $((SECONDS - started))s"`,
        "",
    ].join("\n");
}
