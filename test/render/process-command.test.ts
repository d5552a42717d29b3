// Process commands run by dash, the /bin/sh of Debian-based images: a simple command must replace
// the shell (same PID), so `docker stop`'s SIGTERM reaches the app instead of a shell that, as
// PID 1, ignores it; compound commands must still mean what they say.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { processCommand } from "../../lib/render/procfile";

/** Runs a process command the way the container would, with dash as /bin/sh. */
function sh(
    command: string,
    env: Record<string, string> = {},
): Promise<{ pid: number; code: number | null; signal: string | null; stdout: string }> {
    const [, flag, script] = processCommand(command);
    const child = spawn("/usr/bin/dash", [flag, script], { env: { PATH: process.env.PATH!, ...env } });
    let stdout = "";
    child.stdout.on("data", d => {
        stdout += d;
    });
    return new Promise(resolve =>
        child.on("close", (code, signal) => resolve({ pid: child.pid!, code, signal, stdout })),
    );
}

/** The PID the command itself ran as, read from its own /proc/self/stat. */
const OWN_PID = "cut -d' ' -f1 /proc/self/stat";

test("a simple process command runs as the shell's own process", async () => {
    const r = await sh(OWN_PID);
    assert.equal(r.code, 0);
    assert.equal(Number(r.stdout.trim()), r.pid);
});

test("a compound process command runs unchanged (its parts in child processes)", async () => {
    const r = await sh(`true && ${OWN_PID}`);
    assert.equal(r.code, 0);
    assert.notEqual(Number(r.stdout.trim()), r.pid);
});

test("a process command sees $PORT and the rest of the environment", async () => {
    const r = await sh("echo listening on 0.0.0.0:$PORT", { PORT: "5000" });
    assert.equal(r.stdout, "listening on 0.0.0.0:5000\n");
});

test("SIGTERM reaches a simple process command directly", async () => {
    // `sleep` dies of SIGTERM only if it gets the signal itself: the shell is gone after exec.
    const child = spawn("/usr/bin/dash", processCommand("sleep 30").slice(1));
    await new Promise(resolve => setTimeout(resolve, 200));
    const started = Date.now();
    child.kill("SIGTERM");
    const signal = await new Promise(resolve => child.on("close", (_code, s) => resolve(s)));
    assert.equal(signal, "SIGTERM");
    assert.ok(Date.now() - started < 5000);
});
