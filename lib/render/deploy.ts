// The deploy step's host script, run after an App's new web containers start and before Pulumi
// removes the old ones: health, the edge moved to the new generation, drain. What each step does
// and why: docs/architecture.md#the-deploy-sequence (step 4).

import { EdgeRef, renderEdgeChange } from "./edge-files";
import { shq } from "./shell";

/** Space-separated names of the new web containers, set by the App. */
export const DEPLOY_CONTAINERS = "DROPYARD_WEB_CONTAINERS";
/** The edge's upstream file for the App, as `renderUpstreamMap` gives it, set by the App. */
export const DEPLOY_UPSTREAM_MAP = "DROPYARD_UPSTREAM_MAP";

/** A name Docker gives a container or an alias, and so one nginx may resolve through Docker's DNS. */
const CONTAINER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * The nginx variable a vhost proxies to for an App: `$dropyard_upstream_<app>` with `-` as `_`
 * (App names are lower-case letters, digits and hyphens, so two apps never share one).
 */
export function upstreamVariable(app: string): string {
    return `$dropyard_upstream_${app.replace(/-/g, "_")}`;
}

/** The App's file in the edge's conf.d (`upstream-<app>.conf`): its variable set to the live generation's name. */
export function renderUpstreamMap(app: string, upstream: string): string {
    if (!CONTAINER_NAME.test(upstream)) throw new Error(`renderUpstreamMap: "${upstream}" is not a container name`);
    return [
        `# dropyard: where the edge sends App "${app}"'s requests: its current web containers. Rewritten on every deploy.`,
        `map $host ${upstreamVariable(app)} {`,
        `    default ${upstream};`,
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
        readonly mapFile: string;
        /** Longest wait, in seconds, for the previous nginx workers to finish (open websockets keep them). */
        readonly drainSeconds: number;
        /** The port the web containers serve on, for the first HTTP answer asked before the switch. */
        readonly webPort: number;
    };
}

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
 * Runs container "$1"'s own healthcheck in it now, as Docker will at its next interval. Docker runs the
 * first check one interval (5 s by default) after the start; probing every 0.2 s meanwhile lets a new
 * container pass the wait as soon as its check passes. The check and its timeout come from the container.
 */
const PROBE_FUNCTION = [
    "probe() {",
    "    local spec timeout kind",
    // Line 1: the timeout in ns and the test's kind; then its arguments, one a line.
    `    mapfile -t spec < <(docker inspect -f '{{with .Config.Healthcheck}}{{printf "%d" .Timeout}} {{index .Test 0}}{{range $i, $a := .Test}}{{if $i}}{{printf "\\n%s" $a}}{{end}}{{end}}{{end}}' "$1" 2>/dev/null)`,
    `    [ "\${#spec[@]}" -ge 2 ] || return 1`,
    `    read -r timeout kind <<<"\${spec[0]}"`,
    `    timeout=$(( (timeout + 999999999) / 1000000000 )); [ "$timeout" -ge 1 ] || timeout=30 # Docker's default`,
    `    case "$kind" in`,
    `        CMD-SHELL) local IFS=$'\\n'; timeout "$timeout" docker exec "$1" /bin/sh -c "\${spec[*]:1}" ;;`,
    `        CMD) timeout "$timeout" docker exec "$1" "\${spec[@]:1}" ;;`,
    "        *) return 1 ;;",
    "    esac >/dev/null 2>&1",
    "}",
].join("\n");

/**
 * The script (bash). Values that change per deploy arrive in the environment: DEPLOY_CONTAINERS and
 * DEPLOY_UPSTREAM_MAP.
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
        `            "running starting") if probe "$c"; then break; fi ;;`,
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
    const dir = e.mapFile.slice(0, e.mapFile.lastIndexOf("/")) || "/";
    return [
        ...lines,
        "",
        "# 2. A first HTTP answer from each of them, asked from the edge over the network it will use: a server that",
        "# binds its port before its workers have loaded the app (gunicorn, puma) passes a TCP check while requests",
        "# sent to it would wait for that load. Any status line counts; an edge image without bash skips this.",
        `edge=${shq(e.container)}`,
        "warm() {",
        `    docker exec "$edge" bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 1; printf "HEAD / HTTP/1.0\\r\\n\\r\\n" >&3; IFS= read -r -t "$3" line <&3; [ -n "$line" ]' warm "$1" ${e.webPort} "$2" 2>/dev/null`,
        "}",
        `if docker exec "$edge" bash -c : 2>/dev/null; then`,
        `    for c in "\${containers[@]}"; do`,
        `        until warm "$c" $((deadline - SECONDS > 1 ? deadline - SECONDS : 1)); do`,
        `            [ "$SECONDS" -lt "$deadline" ] || { echo "warning: web container $c gave no HTTP answer within the ${d.waitSeconds}s wait; the edge moves to it all the same" >&2; break; }`,
        "            sleep 0.2",
        "        done",
        "    done",
        "fi",
        "",
        "# 3. Point the edge at them: the map goes in by the edge's file protocol (nginx -t, the old one back on failure, reload).",
        renderEdgeChange({
            edge: e,
            dirs: [dir],
            put: [{ path: e.mapFile, content: { env: DEPLOY_UPSTREAM_MAP } }],
            whenStopped: "fail",
            wording: { rejected: "the new upstream file", restored: "the previous one is" },
            beforeReload: [
                "# The workers serving now; after the reload they finish their requests and exit.",
                `old=$(docker exec "$edge" sh -c 'grep -ls "^nginx: worker process" /proc/[0-9]*/cmdline' 2>/dev/null || true)`,
            ].join("\n"),
        }),
        "exec 9>&- # release the edge lock: the wait below changes nothing",
        "",
        "# 4. Drain: the old containers are stopped only after Pulumi sees this step done.",
        "started=$SECONDS",
        `end=$((SECONDS + ${e.drainSeconds}))`,
        "# shellcheck disable=SC2086 # one /proc path per word",
        `until [ -z "$old" ] || docker exec "$edge" sh -c 'for f in "$@"; do [ -e "$f" ] && exit 1; done; exit 0' sh $old; do`,
        `    if [ "$SECONDS" -ge "$end" ]; then`,
        `        echo "previous nginx workers still have open connections (websockets?) after ${e.drainSeconds}s; going on" >&2`,
        "        break",
        "    fi",
        "    sleep 0.2",
        "done",
        `echo "the edge now sends requests to \${containers[*]}; previous nginx workers finished in $((SECONDS - started))s"`,
        "",
    ].join("\n");
}
