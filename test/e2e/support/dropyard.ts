// Runs the `dropyard` command as a user would, in a stack's directory, to the end; its Pulumi CLI is
// the sandbox's stand-in (sandbox/bin/pulumi). tsx is taken by its path: the stack's directory is
// outside the repository, where `--import tsx` would not resolve.
import { spawn } from "node:child_process";
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
