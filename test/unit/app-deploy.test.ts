// The App's zero-downtime wiring under mocks: the deploy step (health, then the edge moved to the new
// generation of web containers, named by their ids), the web containers' aliases, the vhost proxying
// through the App's upstream group, and workers changing over only after the web containers passed.
// The script itself is tested in test/render/deploy.test.ts, the behaviour in test/e2e/zero-downtime.test.ts.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { evaluate, Graph } from "../../sandbox/harness";
import { App, AppArgs, BridgeNet, NginxVhost } from "../../lib";
import { renderUpstreamGroup, shortId } from "../../lib/render/deploy";
import { CONTAINER, LOCAL_COMMAND } from "../support/types";
import { appDir, localHost } from "../support/fixtures";

/** A build directory with a web process and two workers. */
const workersDir = () =>
    appDir({ Procfile: "web: gunicorn app:app\nclock: python clock.py\nworker: python worker.py\n" });

/** App "counter" on host "box" (data dir /srv/dy), with a vhost for it unless `vhost` is false. */
function deploy(extra: Partial<AppArgs> = {}, vhost = true): Promise<Graph> {
    const build = workersDir();
    return evaluate(() => {
        const host = localHost("box", { dataDir: "/srv/dy" });
        const app = new App("counter", { host, build, ...extra });
        if (vhost) new NginxVhost("counter", { host, domains: ["counter.example.com"], upstream: app });
    });
}

test("App deploy step runs after every web container and the edge, with their names and an upstream file of their ids", async () => {
    const g = await deploy({ replicas: 2 });
    const step = g.one(LOCAL_COMMAND, "counter-deploy");
    assert.equal(step.parent, "dropyard:index:App::counter");
    const [web1, web2] = [g.one(CONTAINER, "counter-web-1"), g.one(CONTAINER, "counter-web-2")];
    for (const c of [web1, web2, g.one(CONTAINER, "box-edge-nginx")])
        assert.ok(g.waitsFor(step, c), `deploy does not wait for ${c.name}`);
    assert.equal(step.inputs.environment.DROPYARD_WEB_CONTAINERS, `${web1.outputs.name} ${web2.outputs.name}`);
    assert.equal(
        step.inputs.environment.DROPYARD_UPSTREAM_FILE,
        renderUpstreamGroup("counter", [shortId(web1.outputs.id), shortId(web2.outputs.id)], 5000),
    );
    assert.match(
        step.inputs.environment.DROPYARD_UPSTREAM_FILE,
        /upstream dropyard_counter \{\n[^}]*\n {4}server [0-9a-f]{12}:5000 resolve;\n {4}server [0-9a-f]{12}:5000 resolve;\n/,
    );
    const script = step.inputs.create as string;
    assert.match(script, /^files=\('\/srv\/dy\/nginx\/conf\.d\/upstream-counter\.conf'\)$/m);
    assert.match(script, /^edge='box-nginx'$/m);
    assert.match(script, / drain 30 \$old; then$/m, "drains for up to stopGraceSeconds");
    assert.match(step.inputs.delete, /rm -f '\/srv\/dy\/nginx\/conf\.d\/upstream-counter\.conf'/);
    assert.equal(step.inputs.triggers, undefined, "a new generation updates the step; it is never replaced");
});

test("App web containers all answer to the app's alias alone: the edge finds each by its id", async () => {
    const g = await evaluate(() => {
        const host = localHost();
        const frontnet = new BridgeNet("frontnet", { host });
        new App("counter", { host, build: workersDir(), networks: [frontnet], replicas: 3 });
    });
    for (const n of [1, 2, 3]) {
        const c = g.one(CONTAINER, `counter-web-${n}`);
        assert.deepEqual(c.inputs.networksAdvanced, [
            { name: "box-edge", aliases: ["counter"] },
            { name: "frontnet", aliases: ["counter"] },
        ]);
        assert.equal(c.inputs.wait, false);
    }
});

test("App exposes its nginx upstream group as edgeHost, and a vhost proxies to it after the App's deploy step", async () => {
    let app: App | undefined;
    let vhost: NginxVhost | undefined;
    const g = await evaluate(() => {
        const host = localHost();
        app = new App("my-app", { host, build: workersDir(), port: 8000 });
        vhost = new NginxVhost("site", { host, domains: ["app.example.com"], upstream: app });
    });
    assert.equal(app!.edgeHost, "dropyard_my_app");
    assert.match(vhost!.config, /set \$upstream http:\/\/dropyard_my_app;/);
    assert.ok(
        g.waitsFor(g.one(LOCAL_COMMAND, "site-config"), g.one(LOCAL_COMMAND, "my-app-deploy")),
        "the vhost needs the App's upstream file first",
    );
});

test("App workers change over only after the deploy step passed; the singleton still goes before its replacement", async () => {
    const g = await deploy({ singletons: ["clock"] }, false);
    const step = g.one(LOCAL_COMMAND, "counter-deploy");
    for (const w of ["counter-clock", "counter-worker"])
        assert.ok(g.waitsFor(g.one(CONTAINER, w), step), `${w} does not wait for the deploy step`);
    assert.equal(g.one(CONTAINER, "counter-clock").options.deleteBeforeReplace, true);
    assert.equal(g.one(CONTAINER, "counter-worker").options.deleteBeforeReplace, false);
});

test("App public: false has a deploy step that only waits for health: no edge file, no edgeHost", async () => {
    let app: App | undefined;
    const g = await evaluate(() => {
        const host = localHost();
        app = new App("userauth", {
            host,
            build: workersDir(),
            networks: [new BridgeNet("authnet", { host })],
            public: false,
        });
    });
    const step = g.one(LOCAL_COMMAND, "userauth-deploy");
    assert.deepEqual(Object.keys(step.inputs.environment).sort(), ["DOCKER_HOST", "DROPYARD_WEB_CONTAINERS"]);
    assert.doesNotMatch(step.inputs.create, /nginx/);
    assert.equal(step.inputs.delete, undefined);
    assert.equal(app!.edgeHost, undefined);
});

test("App web: false has no deploy step", async () => {
    const g = await evaluate(() => {
        new App("jobs", {
            host: localHost(),
            build: workersDir(),
            web: false,
            processes: { worker: "python worker.py" },
        });
    });
    assert.equal(g.ofType(LOCAL_COMMAND).filter(c => c.name === "jobs-deploy").length, 0);
});

test("App without a healthcheck still waits for its web containers to run, 30 s at most", async () => {
    const g = await deploy({ healthcheck: false }, false);
    assert.match(g.one(LOCAL_COMMAND, "counter-deploy").inputs.create, /deadline=\$\(\(SECONDS \+ 30\)\)/);
});

test("App takes a 63-character name on the edge: its group names each container by its short id, not its name", async () => {
    const name = "b".repeat(63);
    const g = await evaluate(() => new App(name, { host: localHost(), build: workersDir() }));
    const web = g.one(CONTAINER, `${name}-web-1`);
    const file = g.one(LOCAL_COMMAND, `${name}-deploy`).inputs.environment.DROPYARD_UPSTREAM_FILE as string;
    assert.ok(web.outputs.name.length > 63, "the container's name is longer than a DNS label");
    assert.match(file, new RegExp(`^upstream dropyard_${name} \\{$`, "m"));
    assert.match(file, new RegExp(`^ {4}server ${shortId(web.outputs.id)}:5000 resolve;$`, "m"));
});
