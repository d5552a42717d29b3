// Bash building blocks for the scripts dropyard runs on a host: quoting, here-documents and a
// lock. Pure functions. The scripts that change the edge's files are in edge-files.ts.

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
