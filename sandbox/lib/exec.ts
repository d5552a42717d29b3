import { spawn } from "node:child_process";

export interface ExecResult {
    code: number;
    stdout: string;
    stderr: string;
}

export interface ExecOptions {
    input?: string;
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    /** Kill the process after this many milliseconds. */
    timeoutMs?: number;
}

/** Runs a program without a shell and collects its output; never throws for a non-zero exit. */
export function exec(file: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(file, args, {
            env: opts.env ?? process.env,
            cwd: opts.cwd,
            stdio: ["pipe", "pipe", "pipe"],
        });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        let timer: NodeJS.Timeout | undefined;
        if (opts.timeoutMs) timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
        child.stdout.on("data", (d: Buffer) => out.push(d));
        child.stderr.on("data", (d: Buffer) => err.push(d));
        child.on("error", e => {
            if (timer) clearTimeout(timer);
            reject(e);
        });
        child.on("close", (code, signal) => {
            if (timer) clearTimeout(timer);
            resolve({
                code: code ?? (signal ? 128 : 1),
                stdout: Buffer.concat(out).toString("utf8"),
                stderr: Buffer.concat(err).toString("utf8") + (signal ? `\n(killed by ${signal})` : ""),
            });
        });
        child.stdin.on("error", () => {
            /* the program may exit without reading its input */
        });
        child.stdin.end(opts.input ?? "");
    });
}

/** The last `n` non-empty lines of a text, for error messages. */
export function lastLines(text: string, n: number): string {
    return text
        .split("\n")
        .filter(l => l.trim() !== "")
        .slice(-n)
        .join("\n");
}

/** The docker CLI (local engine) for what must succeed: its stdout, trimmed; a failure names the command and why. */
export async function docker(args: readonly string[], timeoutMs = 120_000): Promise<string> {
    const r = await exec("docker", args, { timeoutMs });
    if (r.code !== 0)
        throw new Error(
            `docker ${args.slice(0, 3).join(" ")} failed (${r.code}): ${lastLines(r.stderr || r.stdout, 10)}`,
        );
    return r.stdout.trim();
}
