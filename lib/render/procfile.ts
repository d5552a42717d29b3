// Procfile parsing and process command lines, as Heroku and Dokku read them. Pure functions: the
// App reads the file and turns a ProcfileError into its ConfigError.

/** Process type names: letters, digits, `_` and `-` (Heroku's and Dokku's rule). */
export const PROCESS_TYPE = /^[A-Za-z0-9_-]+$/;

const LINE = /^([^:\s]*)\s*:(.*)$/;

/** One `type: command` line of a Procfile. */
export interface ProcfileEntry {
    readonly type: string;
    readonly command: string;
    /** 1-based line number in the file, for messages. */
    readonly line: number;
}

/** A Procfile line that cannot be used; `problem` and `fix` complete a ConfigError message. */
export class ProcfileError extends Error {
    constructor(
        readonly line: number,
        readonly problem: string,
        readonly fix: string,
    ) {
        super(`line ${line} ${problem}; ${fix}`);
        this.name = "ProcfileError";
    }
}

/**
 * Reads a Procfile: one `type: command` per line; blank lines and lines starting with `#` are
 * skipped. Throws a ProcfileError naming the line for a malformed line, a bad type name, an empty
 * command or a type defined twice.
 */
export function parseProcfile(text: string): ProcfileEntry[] {
    const entries: ProcfileEntry[] = [];
    const seen = new Map<string, number>();
    text.replace(/^\uFEFF/, "")
        .split(/\r?\n/)
        .forEach((raw, i) => {
            const line = i + 1;
            const trimmed = raw.trim();
            if (trimmed === "" || trimmed.startsWith("#")) return;
            const m = LINE.exec(trimmed);
            if (!m || m[1] === "") {
                throw new ProcfileError(
                    line,
                    `${JSON.stringify(trimmed)} is not "type: command"`,
                    "write one process per line as type: command, e.g. web: gunicorn app:app",
                );
            }
            const [, type, rest] = m;
            if (!PROCESS_TYPE.test(type)) {
                throw new ProcfileError(
                    line,
                    `process type "${type}" is not a valid name`,
                    "use letters, digits, _ and - only",
                );
            }
            const command = rest.trim();
            if (command === "") {
                throw new ProcfileError(
                    line,
                    `process type "${type}" has no command`,
                    `write the command after "${type}:"`,
                );
            }
            const first = seen.get(type);
            if (first !== undefined) {
                throw new ProcfileError(
                    line,
                    `process type "${type}" is already defined on line ${first}`,
                    "keep one line per process type",
                );
            }
            seen.set(type, line);
            entries.push({ type, command, line });
        });
    return entries;
}

const RESERVED_WORDS = new Set([
    "if",
    "then",
    "else",
    "elif",
    "fi",
    "do",
    "done",
    "case",
    "esac",
    "while",
    "until",
    "for",
    "in",
    "{",
    "}",
    "!",
    "exec",
]);

/**
 * The container command for a process: `/bin/sh -c <command>`, so `$PORT` and other variables
 * expand as on Heroku. A simple command is prefixed with `exec` so it replaces the shell and
 * receives `docker stop`'s SIGTERM itself (dash, the usual /bin/sh, does not forward signals and
 * as PID 1 ignores them, which would turn every graceful stop into a kill). Commands with `;`, `&`,
 * `|` or a newline, a leading `VAR=value`, a shell keyword or `(` are left as written; put `exec`
 * before their last command yourself, e.g. `cd api && exec gunicorn app:app`.
 */
export function processCommand(command: string): string[] {
    const first = command.trim().split(/\s+/)[0];
    const simple =
        !/[;&|\n]/.test(command) &&
        !RESERVED_WORDS.has(first) &&
        !first.startsWith("(") &&
        !/^[A-Za-z_][A-Za-z0-9_]*=/.test(first);
    return ["/bin/sh", "-c", simple ? `exec ${command.trim()}` : command.trim()];
}
