// An App's upstream group (lib/render/deploy.ts) in the edge image, with the edge's defaults and a vhost as
// dropyard renders them: nginx starts while a server does not resolve yet (a reboot, before the app's
// containers), follows it to a container that answers, keeps connections to it open, and follows a replacement
// that got another address. Then the deploy step's own script moves the edge from generation to generation
// under a stream of new connections, keeps the new servers out of use between its two reloads, and takes an
// edge upgraded from round one's map file over. The host's Debian nginx (1.22) cannot check this file: `resolve` needs
// 1.27.3 or later. Traffic goes only to containers on the network this test creates; all is removed.
import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import {
    chmodSync,
    existsSync,
    mkdirSync,
    mkdtempSync,
    readdirSync,
    readFileSync,
    rmSync,
    writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { renderDeployScript, renderUpstreamGroup, shortId, upstreamGroup } from "../../lib/render/deploy";
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
const GENERATIONS = ["g2", "g3a", "g3b", "g4"].map(g => `${P}-web-${g}`);
const made = { containers: [EDGE, APP, `${P}-old`, ...GENERATIONS], dir: "", lockDir: "" };

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
# Python's default listen backlog is 5: a new edge worker's first connections, a dozen at once, would overflow it.
http.server.ThreadingHTTPServer.request_queue_size = 128
http.server.ThreadingHTTPServer(("", 8000), Handler).serve_forever()
`;

let edgeIp = "";

/** One GET through the edge for `host` (the first vhost's name by default): status and body. */
async function viaEdge(host = "late.test"): Promise<{ status: number; body: string }> {
    const r = await fetchVia({ scheme: "http", address: edgeIp, host, path: "/", timeoutMs: 5000 });
    return { status: r.status, body: r.body.trim() };
}

/** Starts a container of the app, answering with `gen`, under `name`. */
async function startApp(gen: string, name = APP): Promise<void> {
    await docker("run", "-d", "--name", name, "--network", NET, "-e", `GEN=${gen}`, PYTHON, "python3", "-c", SERVER);
}

/**
 * The deploy step's script, run as the App runs it for the new containers `names`; fails on its failure. `path`
 * goes before PATH (a stand-in for one of the host's commands); `app` names the upstream file and group.
 */
async function deploy(names: string[], path?: string, app = "late"): Promise<void> {
    const r = await runDeploy(names, path, app);
    assert.equal(r.status, 0, `deploy of ${names.join(", ")}: ${r.stderr}`);
}

/** The deploy step's script as `deploy` runs it: its exit status and output, whatever they are. */
async function runDeploy(
    names: string[],
    path?: string,
    app = "late",
): Promise<{ status: number | null; stdout: string; stderr: string }> {
    const ids = await Promise.all(names.map(n => docker("inspect", "-f", "{{.Id}}", n)));
    const script = renderDeployScript({
        waitSeconds: 30,
        edge: {
            container: EDGE,
            lockFile: join(made.lockDir, "edge.lock"),
            upstreamFile: join(made.dir, `upstream-${app}.conf`),
            drainSeconds: 10,
            webPort: 8000,
        },
    });
    // Not spawnSync: the load below runs on this process's event loop, and must go on while the script runs.
    const child = spawn("bash", ["-c", script], {
        env: {
            ...process.env,
            ...(path ? { PATH: `${path}:${process.env.PATH}` } : {}),
            DROPYARD_WEB_CONTAINERS: names.join(" "),
            DROPYARD_UPSTREAM_FILE: renderUpstreamGroup(app, ids.map(shortId), 8000),
        },
    });
    const out = { stdout: "", stderr: "" };
    child.stdout.on("data", d => (out.stdout += d));
    child.stderr.on("data", d => (out.stderr += d));
    const status = await new Promise<number | null>(done => child.on("close", done));
    return { status, ...out };
}

/** New connections through the edge, `clients` at a time, until `stop()`: every answer's status (or error) and body. */
function load(clients: number): { stop: () => Promise<{ ok: number; failed: string[]; bodies: string[] }> } {
    let running = true;
    const answers: { ok: number; failed: string[]; bodies: string[] } = { ok: 0, failed: [], bodies: [] };
    const loop = async () => {
        while (running) {
            try {
                const r = await viaEdge();
                if (r.status === 200) answers.ok++;
                else answers.failed.push(`${r.status} ${r.body.slice(0, 80)}`);
                answers.bodies.push(r.body);
            } catch (e) {
                answers.failed.push(String(e));
            }
        }
    };
    const loops = Array.from({ length: clients }, loop);
    return {
        stop: async () => {
            running = false;
            await Promise.all(loops);
            return answers;
        },
    };
}

/** The vhost dropyard renders for App `app` at `<app>.test`, proxying to the App's upstream group. */
function groupVhost(app: string): string {
    return renderVhost({
        name: app,
        serverNames: [`${app}.test`],
        upstream: { group: upstreamGroup(app) },
        publicPorts: { http: 80, https: 443 },
        clientMaxBodySize: "1m",
        timeouts: { connect: 5, send: 60, read: 60 },
        websockets: false,
        gzip: false,
        extraConfig: "",
    });
}

async function ipOf(container: string): Promise<string> {
    return docker("inspect", "-f", `{{(index .NetworkSettings.Networks "${NET}").IPAddress}}`, container);
}

before(async () => {
    await prepareEngine([EDGE_IMAGE, PYTHON]);
    await docker("network", "create", NET);
    made.dir = mkdtempSync(join(tmpdir(), `${P}-`));
    chmodSync(made.dir, 0o755);
    made.lockDir = mkdtempSync(join(tmpdir(), `${P}-lock-`));
    const files = {
        "00-dropyard.conf": renderEdgeDefault(),
        "upstream-late.conf": renderUpstreamGroup("late", [APP], 8000),
        "vhost-late.conf": groupVhost("late"),
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(made.dir, name), text);
});

after(async () => {
    for (const c of made.containers) await dockerResult("rm", "-f", c);
    await dockerResult("network", "rm", NET);
    for (const d of [made.dir, made.lockDir]) if (d) rmSync(d, { recursive: true, force: true });
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

test("the deploy step moves the edge from generation to generation under new connections without one failing", async t => {
    // Two reloads a switch (the new servers first beside the live ones, marked down, then alone): a worker of the
    // second reload has their addresses from its first moment. With one reload, a new connection in the
    // millisecond before a worker's first lookup has no server and gets a 502. Ten switches between two live
    // generations under twelve clients, each on a new connection a request, make that moment likely.
    const [g2, g3a, g3b, g4] = GENERATIONS;
    await startApp("g2", g2);
    await deploy([g2]); // from the name the first test left to g2's id: a switch too
    await until("g2 serves", 10, async () => (await viaEdge()).body.startsWith("g2 "));
    for (const [gen, n] of [
        ["g3", g3a],
        ["g3", g3b],
        ["g4", g4],
    ])
        await startApp(gen, n);
    const running = load(12);
    for (let k = 0; k < 10; k++) {
        const [gen, names] = k % 2 === 0 ? ["g3", [g3a, g3b]] : ["g4", [g4]];
        await deploy(names);
        // The deploy step returned: the edge sends every request to the new generation.
        for (let i = 0; i < 4; i++)
            assert.ok((await viaEdge()).body.startsWith(`${gen} `), `after switch ${k + 1}, to ${gen}`);
        if (k === 0) await docker("rm", "-f", g2); // Pulumi deletes the old ones after the step
    }
    const seen = await running.stop();
    const total = seen.ok + seen.failed.length;
    assert.deepEqual(seen.failed, [], `${seen.failed.length} of ${total} failed`);
    assert.ok(seen.ok >= 2000, `only ${seen.ok} requests during ten switches`);
    assert.deepEqual([...new Set(seen.bodies.map(b => b.split(" ")[0]))].sort(), ["g2", "g3", "g4"]);
    t.diagnostic(`${total} requests on new connections over ten switches, none failed`);

    // A container made again under its name, with another address (after a database it depends on was replaced
    // first): its id is new, so no worker carries the gone container's address over to it.
    const oldIp = await ipOf(g4);
    await docker("rename", g4, `${P}-old`);
    await startApp("g5", g4);
    assert.notEqual(await ipOf(g4), oldIp);
    await docker("rm", "-f", `${P}-old`);
    await deploy([g4]);
    for (let i = 0; i < 8; i++) {
        const r = await viaEdge();
        assert.equal(
            `${r.status} ${r.body.split(" ")[0]}`,
            "200 g5",
            "right after the deploy of the recreated container",
        );
    }
});

test("between the switch's two reloads the new servers stand beside the live ones, marked down, and get no request", async () => {
    // The script's pause between its reloads (`sleep 0.3`) is held for 3 s by a stand-in for the host's sleep, which
    // marks when it began: requests sent meanwhile must all reach the live generation.
    const [g3a, g3b, g4] = GENERATIONS.slice(1);
    const bin = join(made.dir, "bin");
    const mark = join(made.dir, "between-reloads");
    mkdirSync(bin);
    writeFileSync(
        join(bin, "sleep"),
        `#!/bin/sh\nif [ "$1" = 0.3 ]; then : > '${mark}'; exec /bin/sleep 3; fi\nexec /bin/sleep "$@"\n`,
        { mode: 0o755 },
    );
    assert.ok((await viaEdge()).body.startsWith("g5 "), "the live generation is the one the test before left");
    let returned = false;
    const deploying = deploy([g3a, g3b], bin).finally(() => (returned = true));
    await until("the first reload is done", 60, async () => existsSync(mark));

    const live = readFileSync(join(made.dir, "upstream-late.conf"), "utf8");
    for (const n of [g3a, g3b]) {
        const id = shortId(await docker("inspect", "-f", "{{.Id}}", n));
        assert.match(live, new RegExp(`^ {4}server ${id}:8000 resolve down;$`, "m"), live);
    }
    const liveId = shortId(await docker("inspect", "-f", "{{.Id}}", g4));
    assert.match(live, new RegExp(`^ {4}server ${liveId}:8000 resolve;$`, "m"), live);
    const answered: string[] = [];
    for (let i = 0; i < 60; i++) answered.push((await viaEdge()).body.split(" ")[0]);
    assert.equal(returned, false, "the 60 requests took longer than the held pause");
    assert.deepEqual([...new Set(answered)], ["g5"], "a server marked down got a request");

    await deploying;
    assert.ok((await viaEdge()).body.startsWith("g3 "), "after the second reload, the new generation answers");
});

test("a deploy on an edge upgraded from round one keeps its map's variable while a vhost uses it, then drops it", async () => {
    // Round one wrote upstream-<app>.conf as a map setting $dropyard_upstream_<app> to web-1's name, and the vhost
    // proxied to http://$dropyard_upstream_<app>:<port> (06d9b31^, cut to the lines that matter). An upgrade runs
    // the App's deploy step before NginxVhost rewrites the vhost: without the variable, nginx -t would refuse.
    const [g3a, , g4] = GENERATIONS.slice(1);
    const upstreamFile = join(made.dir, "upstream-legacy.conf");
    const vhostFile = join(made.dir, "vhost-legacy.conf");
    writeFileSync(upstreamFile, `map $host $dropyard_upstream_legacy {\n    default ${g3a};\n}\n`);
    writeFileSync(
        vhostFile,
        [
            "server {",
            "    listen 80;",
            "    server_name legacy.test;",
            "    resolver 127.0.0.11 valid=5s ipv6=off;",
            "    set $upstream http://$dropyard_upstream_legacy:8000;",
            "    location / {",
            "        proxy_pass $upstream;",
            "    }",
            "}",
            "",
        ].join("\n"),
    );
    await docker("exec", EDGE, "nginx", "-s", "reload");
    const legacy = async () => {
        const r = await viaEdge("legacy.test");
        return `${r.status} ${r.body.split(" ")[0]}`;
    };
    await until("round one's vhost serves g3", 10, async () => (await legacy()) === "200 g3");

    await deploy([g4], undefined, "legacy");
    const kept = readFileSync(upstreamFile, "utf8");
    assert.match(kept, /^upstream dropyard_legacy \{$/m);
    assert.match(kept, new RegExp(`^map \\$host \\$dropyard_upstream_legacy \\{\n {4}default ${g4};\n\\}$`, "m"));
    assert.equal(await legacy(), "200 g5", "round one's vhost follows the variable to the new web-1");

    // NginxVhost rewrites the vhost to the group; the next deploy writes the group alone.
    writeFileSync(vhostFile, groupVhost("legacy"));
    await docker("exec", EDGE, "nginx", "-s", "reload");
    await until("the new vhost serves g5 through the group", 10, async () => (await legacy()) === "200 g5");
    await deploy([g3a], undefined, "legacy");
    assert.doesNotMatch(readFileSync(upstreamFile, "utf8"), /dropyard_upstream_legacy/);
    assert.equal(await legacy(), "200 g3");
});

test("a change the real edge's nginx -t rejects fails the deploy with nginx's words; the live file stays and serves", async () => {
    // Another file in conf.d names a group no file defines: every change now fails nginx -t in the edge, which the
    // reload loop runs before its reload, in the same exec.
    const [, , g4] = GENERATIONS.slice(1);
    const upstreamFile = join(made.dir, "upstream-late.conf");
    const broken = join(made.dir, "vhost-broken.conf");
    const live = readFileSync(upstreamFile, "utf8");
    assert.ok((await viaEdge()).body.startsWith("g3 "), "the live generation is the one the test before this left");
    writeFileSync(
        broken,
        "server {\n    listen 80;\n    server_name broken.test;\n    location / { proxy_pass http://dropyard_ghost; }\n}\n",
    );
    try {
        const r = await runDeploy([g4]);
        assert.equal(r.status, 1, r.stderr);
        assert.match(
            r.stderr,
            /nginx -t in \S+ rejected the new upstream file; the previous one is back in place:\n[\s\S]*host not found in upstream "dropyard_ghost"/,
        );
        assert.equal(readFileSync(upstreamFile, "utf8"), live);
        assert.deepEqual(
            readdirSync(made.dir).filter(f => /\.(new|old)$/.test(f)),
            [],
            "no copies left behind",
        );
        assert.ok((await viaEdge()).body.startsWith("g3 "), "the live generation still answers");
    } finally {
        rmSync(broken, { force: true });
    }
});
