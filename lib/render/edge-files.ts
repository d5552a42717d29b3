// The edge's file protocol: the one way a host script changes what the edge nginx reads. Every
// script that touches the edge renders its change here: NginxVhost's config and certificate files,
// the edge's own default config, App's upstream file (its deploy step) and LetsEncrypt's reload
// after certbot. The steps and why they are in that order: docs/architecture.md#the-edges-file-protocol.
// Pure functions; test/render checks their output with bash -n, shellcheck and by running them
// against a stand-in `docker`.
import { heredoc, lockPrelude, shq } from "./shell";
import { OWNER_HEADER } from "./ownership";

/** Which edge a script changes: the container, for `docker exec`, and the lock every change holds. */
export interface EdgeRef {
    /** The edge container's name. */
    readonly container: string;
    /** The lock file every change of the edge's files holds. */
    readonly lockFile: string;
    /**
     * `<project>/<stack>` of the stack making the change: the first line of every `.conf` file it writes
     * (OWNER_HEADER), and a `.conf` file another stack owns is never overwritten. @default - no owner line
     */
    readonly owner?: string;
}

/**
 * Where a file's text comes from: the script itself (plain text), its standard input (`stdin`:
 * how secrets travel, never in the script), or an environment variable of the host command (`env`:
 * values that change per run, such as the deploy step's upstream file).
 */
export type EdgeFileContent = string | { readonly stdin: true } | { readonly env: string };

/** A file to put where the edge nginx reads it. */
export interface EdgeFile {
    /** Absolute path on the host. */
    readonly path: string;
    readonly content: EdgeFileContent;
    /** `0600` for private keys. @default "0644" */
    readonly mode?: "0600" | "0644";
}

/** A change to the edge's files, then `nginx -t` and a reload. */
export interface EdgeChange {
    readonly edge: EdgeRef;
    /** Directories to create first. @default [] */
    readonly dirs?: readonly string[];
    /** Files to write (at most one from standard input). @default [] */
    readonly put?: readonly EdgeFile[];
    /** Files to take out. @default [] */
    readonly remove?: readonly string[];
    /** Directories to remove, once the change is in, when it left them empty. @default [] */
    readonly removeDirs?: readonly string[];
    /**
     * What to do when the edge container is not running and there are files to change: `"skip"`
     * leaves the change for nginx to read when it starts; `"fail"` puts the old files back and fails.
     * With no files to change, a stopped edge fails at `nginx -t`.
     */
    readonly whenStopped: "skip" | "fail";
    /** How a rejection names the change. @default - "the new configuration" and "the previous files are" */
    readonly wording?: { readonly rejected: string; readonly restored: string };
}

/**
 * sh in the edge, `sh -c RELOAD_LOOP reload <seconds> [<proc>]`: first `nginx -t`; when it fails, its output on
 * standard output and exit 2, nothing reloaded. Then `nginx -s reload`, retried for a few seconds because a
 * container that has just started may not have written nginx's pid file yet (exit 3 when it never works). The
 * signal only asks nginx's master to load the files and start new workers, and for a moment the old workers accept
 * connections too: so it then waits (up to the seconds; exit 4 when they are up) until every worker accepting
 * connections (titled exactly `nginx: worker process`; one finishing is `... is shutting down`) started after the
 * signal. It prints the workers alive before the signal (`<proc>/<pid>/cmdline`, on one line), for a caller that
 * drains them. `<proc>` is where the processes are listed (/proc; a directory in the tests). Without `grep -z` or a
 * /proc there are no workers, and nothing to wait on. The check, the reload and the wait are one `docker exec`: an
 * exec costs the engine about 0.1 s of CPU, which a loaded host takes from its apps.
 */
export const RELOAD_LOOP = [
    "proc=${2:-/proc}",
    "out=$(nginx -t 2>&1) || { printf '%s\\n' \"$out\"; exit 2; }",
    `workers() { grep -lsz "$1" "$proc"/[0-9]*/cmdline 2>/dev/null | tr '\\n' ' '; }`,
    "alive=$(workers '^nginx: worker process')",
    "before=$(workers '^nginx: worker process$')",
    "i=1",
    "until err=$(nginx -s reload 2>&1); do",
    `    if [ "$i" -ge 6 ]; then printf '%s\\n' "$err" >&2; exit 3; fi`,
    '    sleep "$i"; i=$((i + 1))',
    "done",
    'echo "$alive"',
    '[ -n "$before" ] || exit 0',
    "end=$(( $(date +%s) + $1 ))",
    "while :; do",
    "    now=$(workers '^nginx: worker process$')",
    "    stale=0",
    '    for p in $now; do case " $before" in *" $p "*) stale=1 ;; esac; done',
    '    if [ -n "$now" ] && [ "$stale" = 0 ]; then exit 0; fi',
    '    [ "$(date +%s)" -lt "$end" ] || exit 4',
    "    sleep 0.05",
    "done",
].join("\n");

/**
 * Defines `reload_edge`: RELOAD_LOOP in "$edge", so the change is checked and then served when the script goes on.
 * It returns 0 with `edge_workers_before` set to the nginx workers alive before the reload (their /proc entries in
 * the edge, for a drain); 2 with `edge_rejected` set to nginx's words when `nginx -t` fails; 3 when the reload
 * failed; docker's own status (1) when the edge could not be reached. An edge image without sh gets `nginx -t`
 * and a plain reload, two execs and no wait.
 */
export const RELOAD_FUNCTION = [
    "# shellcheck disable=SC2034 # edge_rejected and edge_workers_before: read by the script that embeds this",
    "reload_edge() {",
    "    local out code=0",
    `    out=$(docker exec "$edge" sh -c ${shq(RELOAD_LOOP)} reload 10) || code=$?`,
    '    case "$code" in',
    "        0) ;;",
    "        2) edge_rejected=$out; return 2 ;;",
    `        4) echo "warning: nginx in $edge still has workers from before the reload after 10s" >&2 ;;`,
    "        126 | 127)",
    `            if ! out=$(docker exec "$edge" nginx -t 2>&1); then edge_rejected=$out; return 2; fi`,
    `            out=""; docker exec "$edge" nginx -s reload || return 3 ;;`,
    '        *) return "$code" ;;',
    "    esac",
    "    edge_workers_before=$out",
    "}",
].join("\n");

/**
 * The change as bash lines, to embed in a script that runs under `set -euo pipefail`: under the
 * edge's lock (fd 9, held until the script ends or closes it), files written aside, the old ones
 * kept, `nginx -t`, the old ones back on failure, a reload. The steps: docs/architecture.md#the-edges-file-protocol.
 */
export function renderEdgeChange(c: EdgeChange): string {
    const put = c.put ?? [];
    const remove = c.remove ?? [];
    if (put.filter(f => typeof f.content === "object" && "stdin" in f.content).length > 1) {
        throw new Error("renderEdgeChange: only one file can come from standard input");
    }
    const touched = [...put.map(f => f.path), ...remove];
    const wording = c.wording ?? { rejected: "the new configuration", restored: "the previous files are" };
    const lines = [
        `edge=${shq(c.edge.container)}`,
        lockPrelude(c.edge.lockFile),
        ...((c.dirs ?? []).length > 0 ? [`mkdir -p ${c.dirs!.map(shq).join(" ")}`] : []),
    ];
    if (touched.length > 0) {
        lines.push(
            `files=(${touched.map(shq).join(" ")})`,
            ...(put.length > 0 ? [`put=(${put.map(f => shq(f.path)).join(" ")})`] : []),
            "",
            "# Write the new files aside, keep a copy of what is there now, then put the new files in place and take the old ones out.",
            "umask 077",
            ...ownerGuard(c.edge, put),
            ...put.map(f => {
                const aside = shq(`${f.path}.new`);
                const header = owned(c.edge, f) ? `${OWNER_HEADER}${c.edge.owner}\n` : "";
                const write =
                    typeof f.content === "string"
                        ? heredoc(`cat > ${aside}`, header + f.content)
                        : "stdin" in f.content
                          ? `cat > ${aside}`
                          : `{ ${header ? `printf '%s\\n' ${shq(header.trimEnd())}; ` : ""}printf '%s' "$${f.content.env}"; } > ${aside}`;
                return `${write}\nchmod ${f.mode ?? "0644"} ${aside}`;
            }),
            `for f in "\${files[@]}"; do`,
            `    rm -f "$f.old"`,
            `    if [ -e "$f" ]; then cp -p "$f" "$f.old"; fi`,
            "done",
            ...(put.length > 0 ? [`for f in "\${put[@]}"; do mv -f "$f.new" "$f"; done`] : []),
            ...(remove.length > 0 ? [`rm -f ${remove.map(shq).join(" ")}`] : []),
            "",
            "restore() {",
            `    for f in "\${files[@]}"; do`,
            `        if [ -e "$f.old" ]; then mv -f "$f.old" "$f"; else rm -f "$f"; fi`,
            "    done",
            "}",
            "drop_copies() {",
            `    for f in "\${files[@]}"; do rm -f "$f.old"; done`,
            ...(c.removeDirs ?? []).map(d => `    rmdir ${shq(d)} 2>/dev/null || true`),
            "}",
            "",
            `running=$(docker inspect -f '{{.State.Running}}' "$edge" 2>/dev/null || true)`,
            `if [ "$running" != true ]; then`,
            ...(c.whenStopped === "skip"
                ? [
                      "    drop_copies",
                      `    echo "the edge ($edge) is not running; nginx reads its files as they are now when it starts"`,
                      "    exit 0",
                  ]
                : [
                      "    restore",
                      `    echo "the edge nginx container $edge is not running; start it (docker start $edge) and deploy again" >&2`,
                      "    exit 1",
                  ]),
            "fi",
        );
    }
    // Exit statuses: reload_edge's. A rejected change puts the old files back; one nginx accepted stays, even when
    // its reload failed (3): nginx reads it at its next reload or start.
    lines.push(
        RELOAD_FUNCTION,
        "code=0; reload_edge || code=$?",
        'case "$code" in',
        ...(touched.length > 0
            ? [
                  "    0) drop_copies ;;",
                  "    2) restore",
                  `       printf '%s\\n' "nginx -t in $edge rejected ${wording.rejected}; ${wording.restored} back in place:" "$edge_rejected" >&2`,
                  "       exit 1 ;;",
                  "    3) drop_copies; exit 3 ;;",
                  "    *) restore",
                  `       echo "nginx in $edge could not be reached (docker exec exited $code); ${wording.restored} back in place" >&2`,
                  "       exit 1 ;;",
              ]
            : [
                  "    0) ;;",
                  `    2) printf '%s\\n' "nginx -t in $edge fails, so it was not reloaded:" "$edge_rejected" >&2; exit 1 ;;`,
                  `    *) echo "nginx in $edge was not reloaded (docker exec exited $code)" >&2; exit "$code" ;;`,
              ]),
        "esac",
    );
    return lines.join("\n");
}

/**
 * Whether `f` gets the owner line: nginx config written as text or from the environment, when the change has
 * an owner.
 */
function owned(edge: EdgeRef, f: EdgeFile): boolean {
    return (
        edge.owner !== undefined && f.path.endsWith(".conf") && !(typeof f.content === "object" && "stdin" in f.content)
    );
}

/** Lines that fail the change, before anything is written, when a `.conf` file it would replace is another stack's. */
function ownerGuard(edge: EdgeRef, put: readonly EdgeFile[]): string[] {
    const files = put.filter(f => owned(edge, f)).map(f => shq(f.path));
    if (files.length === 0) return [];
    return [
        `owned=(${files.join(" ")})`,
        `for f in "\${owned[@]}"; do`,
        `    owner=$(sed -n '1s/^${OWNER_HEADER}//p' "$f" 2>/dev/null || true)`,
        `    if [ -n "$owner" ] && [ "$owner" != ${shq(edge.owner!)} ]; then`,
        `        echo "file $f belongs to stack $owner; stack ${edge.owner} does not overwrite it" >&2`,
        "        exit 1",
        "    fi",
        "done",
    ];
}

/** A whole host script that makes the change (see `renderEdgeChange`). */
export function renderEdgeScript(c: EdgeChange): string {
    return ["set -euo pipefail", renderEdgeChange(c), ""].join("\n");
}
