// Bash building blocks for the scripts dropyard runs on a host: quoting, here-documents, a lock,
// and the two scripts that change files the edge nginx reads (install with test-and-rollback,
// remove with reload). Pure functions; test/render checks their output with bash -n, shellcheck
// and by running them against a stand-in `docker`.

/** Quotes `value` as one word for bash and POSIX sh, whatever it contains: single quotes, each `'` spelled `'\''`. */
export function shq(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A name bash accepts for a variable, and so for `export NAME=...`. */
export const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `command <<'DELIM'` followed by `content` verbatim and the delimiter. The delimiter is quoted, so
 * nothing in `content` is expanded, and chosen so that no line of `content` equals it.
 */
export function heredoc(command: string, content: string): string {
    const lines = new Set(content.split("\n"));
    let delim = "DROPYARD_EOF";
    for (let i = 1; lines.has(delim); i++) delim = `DROPYARD_EOF_${i}`;
    const body = content.endsWith("\n") ? content : `${content}\n`;
    return `${command} <<'${delim}'\n${body}${delim}`;
}

/**
 * Takes an exclusive lock on `lockFile` for the rest of the script. Deploys run host commands in
 * parallel; two of them testing nginx at once would each see the other's half-installed file.
 * flock is in util-linux (every Linux host); where it is missing (macOS) the script runs unlocked.
 */
export function lockPrelude(lockFile: string): string {
    const dir = lockFile.slice(0, lockFile.lastIndexOf("/")) || "/";
    return [
        `mkdir -p ${shq(dir)}`,
        "if command -v flock >/dev/null 2>&1; then",
        `    exec 9>>${shq(lockFile)}`,
        `    flock -w 300 9 || { echo ${shq(`timed out after 300s waiting for ${lockFile}`)} >&2; exit 1; }`,
        "fi",
    ].join("\n");
}

/** A file to put where the edge nginx reads it. */
export interface EdgeFile {
    /** Absolute path on the host. */
    readonly path: string;
    /** The file's text, or `"stdin"`: the script's standard input (how secrets travel, never in the script). */
    readonly content: string | { readonly stdin: true };
    /** `0600` for private keys. @default "0644" */
    readonly mode?: "0600" | "0644";
}

export interface InstallScript {
    /** The edge container's name, for `docker exec`. */
    readonly edge: string;
    readonly lockFile: string;
    /** Directories to create first. */
    readonly dirs: readonly string[];
    /** At most one may read standard input. */
    readonly files: readonly EdgeFile[];
    /**
     * What to do when the edge container is not running: `"skip"` leaves the files for nginx to
     * read when it starts (the edge's own first deploy); `"fail"` puts the old files back and fails.
     */
    readonly whenEdgeStopped: "skip" | "fail";
}

const RUNNING = `running=$(docker inspect -f '{{.State.Running}}' "$edge" 2>/dev/null || true)`;

/**
 * Defines `reload_edge`: `nginx -s reload` in "$edge", retried for a few seconds because a
 * container that has just started may not have written nginx's pid file yet. The signal only asks
 * nginx's master to load the files and start new workers, and for a moment the old workers accept
 * connections too: so it then waits (up to 10 s) until every worker accepting connections started
 * after the signal, and the change is served when the script goes on. The workers come from
 * `docker top` (ps on the host); without its output there is nothing to wait on.
 */
const WORKERS = `docker top "$edge" -o pid,args 2>/dev/null | awk '$2 == "nginx:" && $3 == "worker" && $4 == "process" && NF == 4 { printf "%s ", $1 }' || true`;
export const RELOAD_FUNCTION = [
    "reload_edge() {",
    "    local i p before now stale",
    `    before=$(${WORKERS})`,
    `    for i in 1 2 3 4 5 6; do`,
    `        if [ "$i" -eq 6 ]; then docker exec "$edge" nginx -s reload || return; break; fi`,
    `        if docker exec "$edge" nginx -s reload 2>/dev/null; then break; fi`,
    `        sleep "$i"`,
    "    done",
    `    if [ -z "$before" ]; then return 0; fi`,
    "    for i in $(seq 100); do",
    `        now=$(${WORKERS})`,
    "        stale=0",
    `        for p in $now; do case " $before" in *" $p "*) stale=1 ;; esac; done`,
    `        if [ -n "$now" ] && [ "$stale" -eq 0 ]; then return 0; fi`,
    "        sleep 0.1",
    "    done",
    `    echo "warning: nginx in $edge still has workers from before the reload after 10s" >&2`,
    "}",
].join("\n");

/**
 * Writes every file aside, keeps the current ones, moves the new ones into place, runs `nginx -t`
 * in the edge and reloads it. When nginx rejects the result, the previous files come back (new
 * files are removed) and the script fails with nginx's message, so a bad config is never left for
 * the next reload or restart to trip over.
 */
export function renderInstallScript(s: InstallScript): string {
    if (s.files.length === 0) throw new Error("renderInstallScript: no files");
    if (s.files.filter(f => typeof f.content !== "string").length > 1) {
        throw new Error("renderInstallScript: only one file can come from standard input");
    }
    const writes = s.files.map(f => {
        const aside = shq(`${f.path}.new`);
        const write = typeof f.content === "string" ? heredoc(`cat > ${aside}`, f.content) : `cat > ${aside}`;
        return `${write}\nchmod ${f.mode ?? "0644"} ${aside}`;
    });
    const stopped = s.whenEdgeStopped === "skip"
        ? [
            `    for f in "\${files[@]}"; do rm -f "$f.old"; done`,
            `    echo "the edge ($edge) is not running; nginx reads the new files when it starts"`,
            "    exit 0",
        ]
        : [
            "    restore",
            `    echo "the edge nginx container $edge is not running; start it (docker start $edge) and deploy again" >&2`,
            "    exit 1",
        ];
    return [
        "set -euo pipefail",
        `edge=${shq(s.edge)}`,
        lockPrelude(s.lockFile),
        ...(s.dirs.length > 0 ? [`mkdir -p ${s.dirs.map(shq).join(" ")}`] : []),
        `files=(${s.files.map(f => shq(f.path)).join(" ")})`,
        "",
        "# Write aside, keep what is there now, then move the new files into place.",
        "umask 077",
        ...writes,
        `for f in "\${files[@]}"; do`,
        `    rm -f "$f.old"`,
        `    if [ -e "$f" ]; then cp -p "$f" "$f.old"; fi`,
        "done",
        `for f in "\${files[@]}"; do mv -f "$f.new" "$f"; done`,
        "",
        "restore() {",
        `    for f in "\${files[@]}"; do`,
        `        if [ -e "$f.old" ]; then mv -f "$f.old" "$f"; else rm -f "$f"; fi`,
        "    done",
        "}",
        "",
        RUNNING,
        `if [ "$running" != true ]; then`,
        ...stopped,
        "fi",
        `if ! out=$(docker exec "$edge" nginx -t 2>&1); then`,
        "    restore",
        `    printf '%s\\n' "nginx -t in $edge rejected the new configuration; the previous files are back in place:" "$out" >&2`,
        "    exit 1",
        "fi",
        `for f in "\${files[@]}"; do rm -f "$f.old"; done`,
        RELOAD_FUNCTION,
        "reload_edge",
        "",
    ].join("\n");
}

export interface RemoveScript {
    readonly edge: string;
    readonly lockFile: string;
    /** Files to remove. */
    readonly files: readonly string[];
    /** Directories to remove when they are left empty. @default [] */
    readonly dirs?: readonly string[];
}

/**
 * Removes files the edge reads and, when the edge is running, tests and reloads it so nginx stops
 * serving them. A stopped (or already removed) edge just loses the files.
 */
export function renderRemoveScript(s: RemoveScript): string {
    return [
        "set -euo pipefail",
        `edge=${shq(s.edge)}`,
        lockPrelude(s.lockFile),
        `rm -f ${s.files.map(shq).join(" ")}`,
        ...(s.dirs ?? []).map(d => `rmdir ${shq(d)} 2>/dev/null || true`),
        RUNNING,
        `if [ "$running" = true ]; then`,
        `    if ! out=$(docker exec "$edge" nginx -t 2>&1); then`,
        `        printf '%s\\n' "removed the files, but nginx -t in $edge fails, so it was not reloaded:" "$out" >&2`,
        "        exit 1",
        "    fi",
        RELOAD_FUNCTION.split("\n").map(l => `    ${l}`).join("\n"),
        "    reload_edge",
        "fi",
        "",
    ].join("\n");
}
