// An App's upstream group (lib/render/deploy.ts) in the edge image, with the edge's defaults and a vhost as
// dropyard renders them: nginx starts while the generation's name does not resolve yet (a reboot, before the
// app's containers), follows the name to a container that answers, keeps connections to it open, and follows
// a replacement that got another address. The host's Debian nginx (1.22) cannot check this file: `resolve`
// needs 1.27.3 or later. Traffic goes only to containers on the network this test creates; all is removed.
import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderUpstreamGroup, upstreamGroup } from "../../lib/render/deploy";
import { renderEdgeDefault, renderVhost } from "../../lib/render/nginx";
import { EDGE_IMAGE } from "../../lib/edge";
import { prepareEngine } from "../../sandbox/prepare";
import { fetchVia } from "../../sandbox/lib/http";
import { docker, dockerResult } from "../support/docker";
import { until } from "../support/until";

const P = `dygroup-${process.pid}`;
const NET = `${P}-net`;
const EDGE = `${P}-edge`;
const APP = `${P}-web-1-abc1234`; // a generation's name, as Pulumi makes them
const PYTHON = "python:3.13-slim";
const made = { containers: [EDGE, APP, `${P}-old`], dir: "" };

/** Answers every GET with its generation and the port the request came from (the edge's connection). */
const SERVER = `
import http.server, os
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = f"{os.environ['GEN']} {self.client_address[1]}\\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("", 8000), Handler).serve_forever()
`;

let edgeIp = "";

/** One GET through the edge for the vhost's name: status and body. */
async function viaEdge(): Promise<{ status: number; body: string }> {
    const r = await fetchVia({ scheme: "http", address: edgeIp, host: "late.test", path: "/", timeoutMs: 5000 });
    return { status: r.status, body: r.body.trim() };
}

/** Starts the app's container of generation `gen` under the generation's name. */
async function startApp(gen: string): Promise<void> {
    await docker("run", "-d", "--name", APP, "--network", NET, "-e", `GEN=${gen}`, PYTHON, "python3", "-c", SERVER);
}

async function ipOf(container: string): Promise<string> {
    return docker("inspect", "-f", `{{(index .NetworkSettings.Networks "${NET}").IPAddress}}`, container);
}

before(async () => {
    await prepareEngine([EDGE_IMAGE, PYTHON]);
    await docker("network", "create", NET);
    made.dir = mkdtempSync(join(tmpdir(), `${P}-`));
    chmodSync(made.dir, 0o755);
    const vhost = renderVhost({
        name: "late",
        serverNames: ["late.test"],
        upstream: { group: upstreamGroup("late") },
        publicPorts: { http: 80, https: 443 },
        clientMaxBodySize: "1m",
        timeouts: { connect: 5, send: 60, read: 60 },
        websockets: false,
        gzip: false,
        extraConfig: "",
    });
    const files = {
        "00-dropyard.conf": renderEdgeDefault(),
        "upstream-late.conf": renderUpstreamGroup("late", APP, 8000),
        "vhost-late.conf": vhost,
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(made.dir, name), text);
});

after(async () => {
    for (const c of made.containers) await dockerResult("rm", "-f", c);
    await dockerResult("network", "rm", NET);
    if (made.dir) rmSync(made.dir, { recursive: true, force: true });
});

test("an App's upstream group: nginx starts before the name resolves, reuses connections, follows a new address", async () => {
    // The generation's name resolves nowhere yet: nginx -t passes and the edge starts, answering 502.
    const check = await dockerResult(
        "run",
        "--rm",
        "--network",
        NET,
        "-v",
        `${made.dir}:/etc/nginx/conf.d:ro`,
        EDGE_IMAGE,
        "nginx",
        "-t",
    );
    assert.equal(check.status, 0, check.stderr);
    await docker("run", "-d", "--name", EDGE, "--network", NET, "-v", `${made.dir}:/etc/nginx/conf.d:ro`, EDGE_IMAGE);
    edgeIp = await ipOf(EDGE);
    const early = await until("the edge answers", 20, () => viaEdge());
    assert.equal(early.status, 502, early.body);

    // The app comes up: the edge finds it through Docker's DNS without a reload.
    await startApp("one");
    await until("the edge reaches the app", 30, async () => (await viaEdge()).status === 200);

    // Kept-open connections: twelve requests, each on a new client connection, reach the app over at most one
    // connection per nginx worker (a connection per request would show twelve ports).
    const workers = Number(
        await docker("exec", EDGE, "sh", "-c", "grep -l '^nginx: worker' /proc/[0-9]*/cmdline | wc -l"),
    );
    const ports = new Set<string>();
    for (let i = 0; i < 12; i++) {
        const r = await viaEdge();
        assert.equal(r.status, 200);
        const [gen, port] = r.body.split(" ");
        assert.equal(gen, "one");
        ports.add(port);
    }
    assert.ok(workers >= 1, "no nginx workers found");
    assert.ok(ports.size <= workers, `${ports.size} upstream connections for 12 requests, ${workers} workers`);

    // A replacement under the same name with another address (the old one, renamed, holds its own until it
    // goes, as after a restart where another container took it): nginx follows the name.
    const oldIp = await ipOf(APP);
    await docker("rename", APP, `${P}-old`);
    await startApp("two");
    assert.notEqual(await ipOf(APP), oldIp);
    await docker("rm", "-f", `${P}-old`);
    await until("the edge reaches the replacement", 30, async () => (await viaEdge()).body.startsWith("two "));
});
