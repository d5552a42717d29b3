// The default web healthcheck, run for real by dash (Debian's /bin/sh, as in python:*-slim and
// node:*-slim) against a TCP listener on loopback. Each case gives the shell a PATH holding only
// the tools an image of that kind has; wrappers log which probe ran.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { tcpCheck } from "../../lib/render/healthcheck";

const run = promisify(execFile);
const DASH = "/usr/bin/dash";
const TOOLS: Record<string, string | undefined> = {
    bash: ["/usr/bin/bash", "/bin/bash"].find(p => fs.existsSync(p)),
    python3: ["/usr/bin/python3"].find(p => fs.existsSync(p)),
    node: process.execPath,
};

/** A PATH directory with `sh` and wrappers for `tools` that record their name in `log` and run the real one. */
function image(tools: string[]): { dir: string; log: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropyard-hc-"));
    const log = path.join(dir, "probes.log");
    fs.symlinkSync(DASH, path.join(dir, "sh"));
    for (const tool of tools) {
        fs.writeFileSync(path.join(dir, tool), `#!${DASH}\necho ${tool} >> "${log}"\nexec "${TOOLS[tool]}" "$@"\n`, {
            mode: 0o755,
        });
    }
    return { dir, log };
}

/** Runs the check as Docker would (`/bin/sh -c`) and returns its exit code and the probes that ran. */
async function check(port: number, env: { dir: string; log: string }): Promise<{ code: number; probes: string[] }> {
    let code = 0;
    try {
        await run(DASH, ["-c", tcpCheck(port)], { env: { PATH: env.dir }, timeout: 20_000 });
    } catch (e) {
        code = (e as { code?: number }).code ?? -1;
    }
    const probes = fs.existsSync(env.log) ? fs.readFileSync(env.log, "utf8").trim().split("\n") : [];
    return { code, probes };
}

async function listen(host: string): Promise<net.Server> {
    const server = net.createServer(s => s.end());
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, host, resolve));
    return server;
}

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
    const s = await listen("127.0.0.1");
    const port = (s.address() as net.AddressInfo).port;
    await new Promise(resolve => s.close(resolve));
    return port;
}

const cases: Array<[string, string[], string | undefined]> = [
    ["an image with bash connects with /dev/tcp", ["bash", "python3", "node"], "bash"],
    ["an image with python3 but no bash connects with python3", ["python3", "node"], "python3"],
    ["an image with node only connects with node", ["node"], "node"],
    ["an image with only sh finds the listening socket in /proc/net/tcp", [], undefined],
];

for (const [name, tools, probe] of cases) {
    test(`tcpCheck: ${name}`, async t => {
        const missing = tools.filter(tool => TOOLS[tool] === undefined);
        if (missing.length > 0) return t.skip(`${missing.join(", ")} not installed`);
        const server = await listen("127.0.0.1");
        const port = (server.address() as net.AddressInfo).port;
        try {
            const open = await check(port, image(tools));
            assert.equal(open.code, 0, "open port reported unhealthy");
            assert.deepEqual(open.probes, probe ? [probe] : []);
            const closed = await check(await closedPort(), image(tools));
            assert.notEqual(closed.code, 0, "closed port reported healthy");
            assert.deepEqual(closed.probes, probe ? [probe] : []);
        } finally {
            server.close();
        }
    });
}

test("tcpCheck: with only sh, an IPv6 listener is found in /proc/net/tcp6", async t => {
    let server: net.Server;
    try {
        server = await listen("::1");
    } catch {
        return t.skip("no IPv6 loopback here");
    }
    try {
        const port = (server.address() as net.AddressInfo).port;
        assert.equal((await check(port, image([]))).code, 0);
    } finally {
        server.close();
    }
});

test("tcpCheck rejects a value that is not a port instead of rendering a broken check", () => {
    assert.throws(() => tcpCheck(0), RangeError);
    assert.throws(() => tcpCheck(65536), RangeError);
});
