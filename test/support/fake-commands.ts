// Stand-in commands for render tests that run a rendered script for real: each one a bash script on the PATH
// that appends its arguments to `<root>/<name>.log` before doing what the test tells it, so a test can assert
// the calls the script made.
import * as fs from "node:fs";
import * as path from "node:path";

export interface FakeCommands {
    /** The process environment with the stand-ins first on the PATH. */
    readonly env: NodeJS.ProcessEnv;
    /** The argument lists `name` was called with, one line a call, in order. */
    readonly calls: (name: string) => string[];
}

/** Writes `<root>/bin/<name>` for each entry of `scripts` (bash run after the call is logged). */
export function fakeCommands(root: string, scripts: Record<string, string>): FakeCommands {
    const bin = path.join(root, "bin");
    fs.mkdirSync(bin, { recursive: true });
    const logOf = (name: string) => path.join(root, `${name}.log`);
    for (const [name, body] of Object.entries(scripts)) {
        fs.writeFileSync(path.join(bin, name), `#!/bin/bash\necho "$*" >> ${JSON.stringify(logOf(name))}\n${body}`, {
            mode: 0o755,
        });
    }
    return {
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
        calls: name => (fs.existsSync(logOf(name)) ? fs.readFileSync(logOf(name), "utf8").trim().split("\n") : []),
    };
}
