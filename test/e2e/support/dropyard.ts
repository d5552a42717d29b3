// Runs the `dropyard` command as a user would, in a stack's directory, to the end; its Pulumi CLI is
// the sandbox's stand-in (sandbox/bin/pulumi). tsx is taken by its path: the stack's directory is
// outside the repository, where `--import tsx` would not resolve.
import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "./stack";

export const SANDBOX_PULUMI = join(REPO, "sandbox/bin/pulumi");

/** Starts `dropyard <args>` in `dir`. */
export function startDropyard(dir: string, args: string[]) {
    return spawn(join(REPO, "node_modules/.bin/tsx"), [join(REPO, "lib/cli/main.ts"), ...args], {
        cwd: dir,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, NODE_OPTIONS: "", DROPYARD_PULUMI: SANDBOX_PULUMI },
    });
}

/** `dropyard <args>` in `dir`, to the end. */
export function dropyardIn(
    dir: string,
    args: string[],
): Promise<{ status: number | null; stdout: string; stderr: string }> {
    return new Promise(resolveRun => {
        const child = startDropyard(dir, args);
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", c => {
            stdout += c;
        });
        child.stderr.on("data", c => {
            stderr += c;
        });
        child.on("close", status => resolveRun({ status, stdout, stderr }));
    });
}

/** Writes a stack's state as `npm run sandbox -- export <dir> --stack <stack>` prints it (what --state reads). */
export function exportState(dir: string, stack: string, file: string): void {
    const r = spawnSync(
        process.execPath,
        ["--import", "tsx", join(REPO, "sandbox/cli.ts"), "export", dir, "--stack", stack],
        {
            encoding: "utf8",
        },
    );
    if (r.status !== 0) throw new Error(`sandbox export ${dir} --stack ${stack} failed: ${r.stderr}`);
    writeFileSync(file, r.stdout, { mode: 0o600 });
}

/** `dropyard <command> --state <file> <args...>` in `dir`, to the end, as its own process. */
export function dropyardWithState(
    dir: string,
    stateFile: string,
    command: string,
    ...args: string[]
): { status: number | null; stdout: string; stderr: string } {
    // --state right after the command's name: for run and exec, whatever follows the app is the container's command.
    const r = spawnSync(
        process.execPath,
        ["--import", "tsx", join(REPO, "lib/cli/main.ts"), command, "--state", stateFile, ...args],
        { cwd: dir, encoding: "utf8", timeout: 120_000, env: { ...process.env, NODE_OPTIONS: "" } },
    );
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
