// Stand-in commands for render tests that run a rendered script for real: each one a bash script on the PATH
// that appends its arguments to `<root>/<name>.log` before doing what the test tells it, so a test can assert
// the calls the script made.
import * as fs from "node:fs";
import * as path from "node:path";
import { RELOAD_LOOP } from "../../lib/render/edge-files";

/**
 * A logged call, one line: newlines become spaces, and the edge's reload loop (tested by itself in
 * edge-files.test.ts) reads `RELOAD_LOOP`, as in `exec box-nginx sh -c RELOAD_LOOP reload 10`. Runs of white
 * space count as one, for a script that embeds the loop indented.
 */
export function callLine(logged: string): string {
    const oneSpace = (t: string) => t.replace(/\s+/g, " ");
    return oneSpace(logged).split(oneSpace(RELOAD_LOOP)).join("RELOAD_LOOP");
}

export interface FakeCommands {
    /** The process environment with the stand-ins first on the PATH. */
    readonly env: NodeJS.ProcessEnv;
    /** The argument lists `name` was called with, one line a call (callLine), in order. */
    readonly calls: (name: string) => string[];
}

/** Writes `<root>/bin/<name>` for each entry of `scripts` (bash run after the call is logged). */
export function fakeCommands(root: string, scripts: Record<string, string>): FakeCommands {
    const bin = path.join(root, "bin");
    fs.mkdirSync(bin, { recursive: true });
    const logOf = (name: string) => path.join(root, `${name}.log`);
    for (const [name, body] of Object.entries(scripts)) {
        const log = `call="$*"; printf '%s\\n' "\${call//$'\\n'/ }" >> ${JSON.stringify(logOf(name))}`;
        fs.writeFileSync(path.join(bin, name), `#!/bin/bash\n${log}\n${body}`, {
            mode: 0o755,
        });
    }
    return {
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
        calls: name =>
            fs.existsSync(logOf(name)) ? fs.readFileSync(logOf(name), "utf8").trim().split("\n").map(callLine) : [],
    };
}
