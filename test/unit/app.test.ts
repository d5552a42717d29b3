import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import * as random from "@pulumi/random";
import { evaluate, Graph, isSecretAt, RecordedResource } from "../../sandbox/harness";
import { envOf, rejectsBeforeCreating } from "../support/helpers";
import { App, AppArgs, BridgeNet, Host } from "../../lib";
import { Database, DATABASE_BRAND } from "../../lib/database/database";
import { tcpCheck } from "../../lib/render/healthcheck";
import { CONTAINER, IMAGE, LOCAL_COMMAND, NETWORK, REMOTE_IMAGE, VOLUME } from "../support/types";
import { appDir, localHost, tempDir } from "../support/fixtures";

/** Stands in for Postgres/MariaDB: implements the Database contract with a network and a password. */
class FakeDb extends pulumi.ComponentResource implements Database {
    readonly [DATABASE_BRAND] = true as const;
    readonly engine = "postgres";
    readonly databaseName: string;
    readonly host: Host;
    readonly env: pulumi.Output<Record<string, string>>;
    readonly envKeys: readonly string[];
    readonly networkNames: pulumi.Output<string>[];

    constructor(name: string, host: Host, keys: readonly string[] = ["DATABASE_URL"]) {
        super("test:index:FakeDb", name, {}, {});
        this.databaseName = name;
        this.host = host;
        this.envKeys = keys;
        const net = new docker.Network(
            `${name}-net`,
            { name: `${name}-net`, internal: true },
            { parent: this, provider: host.provider },
        );
        const pw = new random.RandomPassword(`${name}-password`, { length: 16, special: false }, { parent: this });
        this.env = pulumi.secret(
            pw.result.apply(p => Object.fromEntries(keys.map(k => [k, `postgres://app:${p}@${name}:5432/app`]))),
        );
        this.networkNames = [net.name];
        // Like the real ones: the server container is in no output, so only dependsOn can wait for it.
        new docker.Container(
            `${name}-container`,
            { image: "postgres:17", networksAdvanced: [{ name: net.name, aliases: [name] }] },
            { parent: this, provider: host.provider },
        );
        this.registerOutputs({});
    }
}

/** Evaluates App "counter" on host "box" built from `dir` (a fresh Procfile app by default). */
function app(extra: Partial<AppArgs> = {}, dir?: string): Promise<Graph> {
    const build = dir ?? appDir();
    return evaluate(() => {
        const host = localHost();
        const a = new App("counter", { host, ...(extra.image ? {} : { build }), ...extra });
        return { digest: a.imageDigest };
    });
}

/** The App's own resources of `type` (the Host has containers and commands of its own). */
function mine(g: Graph, type: string): RecordedResource[] {
    return g.customResourcesUnder("dropyard:index:App::counter").filter(r => r.type === type);
}

/**
 * Asserts that constructing an App with `args` throws exactly `message`, and that nothing was
 * created under the App. Runs under the mocks, since a Host and its edge are resources too.
 */
function rejects(args: (host: Host) => AppArgs, message: string, name = "counter"): Promise<void> {
    return rejectsBeforeCreating("App", name, () => new App(name, args(localHost())), message);
}

// --- the image ---

test("App builds the directory on the host's engine as a local image labelled with the app", async () => {
    const dir = appDir();
    const g = await app({}, dir);
    const image = g.one(IMAGE, "counter-image");
    assert.equal(image.inputs.imageName, "dropyard/box-counter:latest");
    assert.equal(image.inputs.build.context, dir);
    assert.equal(image.inputs.skipPush, true);
    assert.equal(image.provider, "pulumi:providers:docker::box-docker");
    // docker.Image has no labels argument: the build uses the app's Dockerfile plus one LABEL.
    const dockerfile = fs.readFileSync(image.inputs.build.dockerfile, "utf8");
    assert.ok(dockerfile.startsWith("FROM python:3.13-slim\nCOPY . /app\n"), dockerfile);
    assert.match(dockerfile, /\nLABEL dev\.dropyard\.app="counter"\n$/);
});

test("App containers run the image digest, not its tag, so only a rebuilt image redeploys", async () => {
    const g = await app();
    const digest = g.one(IMAGE, "counter-image").outputs.repoDigest as string;
    assert.match(digest, /^sha256:/);
    assert.equal(g.outputs.digest, digest);
    for (const c of mine(g, CONTAINER)) assert.equal(c.inputs.image, digest, c.name);
    assert.equal(g.one(LOCAL_COMMAND, "counter-release").inputs.environment.DROPYARD_IMAGE, digest);
});

test("App image pulls an existing image, keeps it on the host, and runs the image's own command as web", async () => {
    const g = await app({ image: "wordpress:6.8-php8.4-apache", port: 80 });
    const image = g.one(REMOTE_IMAGE, "counter-image");
    assert.equal(image.inputs.name, "wordpress:6.8-php8.4-apache");
    assert.equal(image.inputs.keepLocally, true);
    const web = g.one(CONTAINER, "counter-web-1");
    assert.equal(web.inputs.image, image.outputs.imageId);
    assert.equal(web.inputs.command, undefined);
    assert.equal(mine(g, IMAGE).length, 0);
    assert.deepEqual(
        mine(g, LOCAL_COMMAND).map(c => c.name),
        ["counter-deploy"],
        "no release and no releases step for a pulled image",
    );
});

// --- processes ---

test("App runs the Procfile's web and worker processes through /bin/sh, exec'ing simple commands", async () => {
    const g = await app();
    assert.deepEqual(g.one(CONTAINER, "counter-web-1").inputs.command, [
        "/bin/sh",
        "-c",
        "exec gunicorn app:app --bind 0.0.0.0:$PORT",
    ]);
    const worker = g.one(CONTAINER, "counter-worker");
    assert.deepEqual(worker.inputs.command, ["/bin/sh", "-c", "exec python worker.py"]);
    assert.deepEqual(worker.inputs.labels, [
        { label: "dev.dropyard.app", value: "counter" },
        { label: "dev.dropyard.process", value: "worker" },
        { label: "dev.dropyard.host", value: "box" },
        { label: "dev.dropyard.project", value: "test" },
        { label: "dev.dropyard.stack", value: "dev" },
    ]);
    assert.equal(mine(g, CONTAINER).length, 2, "release runs as a step, not a container");
});

test("App processes given in code replace the Procfile", async () => {
    const g = await app({ processes: { web: "node server.js", mailer: "node mailer.js" } });
    assert.deepEqual(
        mine(g, CONTAINER)
            .map(c => c.name)
            .sort(),
        ["counter-mailer", "counter-web-1"],
    );
    assert.equal(mine(g, LOCAL_COMMAND).filter(c => c.name === "counter-release").length, 0);
});

test("App exposes what the edge needs: alias, web port, hasWeb, processes", async () => {
    let a: App | undefined;
    await evaluate(() => {
        a = new App("counter", { host: localHost(), build: appDir(), port: 8000 });
    });
    if (!a) throw new Error("not constructed");
    assert.equal(a.appName, "counter");
    assert.equal(a.alias, "counter");
    assert.equal(a.hasWeb, true);
    assert.equal(a.webPort, 8000);
    assert.deepEqual(a.processes, {
        web: "gunicorn app:app --bind 0.0.0.0:$PORT",
        worker: "python worker.py",
        release: "python manage.py migrate",
    });
    assert.deepEqual(Object.keys(a.containers), ["web-1", "worker"]);
});

test("App web: false runs workers only: no web container, no edge network", async () => {
    const g = await app({ web: false, processes: { worker: "python worker.py" } });
    assert.deepEqual(
        mine(g, CONTAINER).map(c => c.name),
        ["counter-worker"],
    );
    assert.equal(g.one(CONTAINER, "counter-worker").inputs.networksAdvanced, undefined);
});

// --- environment ---

test("App gives web PORT (default 5000) and every process the plain env", async () => {
    const g = await app({ env: { ALLOWED_HOSTS: "counter.example.com" } });
    assert.deepEqual(envOf(g.one(CONTAINER, "counter-web-1")), { ALLOWED_HOSTS: "counter.example.com", PORT: "5000" });
    assert.deepEqual(envOf(g.one(CONTAINER, "counter-worker")), { ALLOWED_HOSTS: "counter.example.com" });
    assert.equal(isSecretAt(g.one(CONTAINER, "counter-web-1"), "envs"), false);
    const custom = await app({ port: 8000 });
    assert.equal(envOf(custom.one(CONTAINER, "counter-web-1")).PORT, "8000");
});

test("App secrets make the containers' env secret", async () => {
    const g = await app({ env: { DEBUG: "0" }, secrets: { SECRET_KEY: "s3cr3t" } });
    for (const c of mine(g, CONTAINER)) {
        assert.equal(envOf(c).SECRET_KEY, "s3cr3t");
        assert.ok(isSecretAt(c, "envs"), c.name);
    }
});

test("App link merges the database's env as a secret, joins its network and waits for it", async () => {
    const g = await evaluate(() => {
        const host = localHost();
        const db = new FakeDb("counter-db", host);
        new App("counter", { host, build: appDir(), link: [db] });
    });
    const web = g.one(CONTAINER, "counter-web-1");
    assert.match(envOf(web).DATABASE_URL, /^postgres:\/\/app:fake-[\w-]+@counter-db:5432\/app$/);
    assert.ok(isSecretAt(web, "envs"));
    assert.deepEqual(web.inputs.networksAdvanced, [
        { name: "box-edge", aliases: ["counter"] },
        { name: "counter-db-net" },
    ]);
    assert.deepEqual(g.one(CONTAINER, "counter-worker").inputs.networksAdvanced, [{ name: "counter-db-net" }]);
    const release = g.one(LOCAL_COMMAND, "counter-release");
    assert.equal(release.inputs.environment.DROPYARD_NETWORKS, "counter-db-net");
    const server = g.one(CONTAINER, "counter-db-container");
    for (const r of [release, web, g.one(CONTAINER, "counter-worker")])
        assert.ok(g.waitsFor(r, server), `${r.name} does not wait for the database`);
});

// --- release ---

test("App release runs the image with the app's env by name only, and web and workers wait for it", async () => {
    const g = await app({ env: { DEBUG: "0" }, secrets: { SECRET_KEY: "s3cr3t" } });
    const release = g.one(LOCAL_COMMAND, "counter-release");
    assert.equal(release.parent, "dropyard:index:App::counter");
    const script = release.inputs.create as string;
    assert.match(script, / -e DEBUG -e SECRET_KEY "\$DROPYARD_IMAGE" \/bin\/sh -c "\$DROPYARD_RELEASE"/);
    assert.ok(!script.includes("s3cr3t"), "the secret is not in the script");
    const env = release.inputs.environment;
    assert.equal(env.DROPYARD_RELEASE, "python manage.py migrate");
    assert.equal(env.DROPYARD_ENV_SECRET_KEY, "s3cr3t");
    assert.equal(env.DROPYARD_ENV_DEBUG, "0");
    assert.ok(isSecretAt(release, "environment"));
    assert.deepEqual(release.inputs.triggers, [g.one(IMAGE).outputs.repoDigest]);
    assert.ok(g.waitsFor(release, g.one(IMAGE)));
    assert.ok(g.waitsFor(g.one(CONTAINER, "counter-web-1"), release));
    assert.ok(g.waitsFor(g.one(CONTAINER, "counter-worker"), release));
});

test("App release environment is plain when the app has no secrets or links", async () => {
    const g = await app({ env: { DEBUG: "0" } });
    assert.equal(isSecretAt(g.one(LOCAL_COMMAND, "counter-release"), "environment"), false);
});

// --- web containers ---

test("App web containers have no fixed name and no published port, and replicas are web-1..N", async () => {
    const g = await app({ replicas: 3 });
    const webs = mine(g, CONTAINER).filter(c => c.name.startsWith("counter-web-"));
    assert.deepEqual(
        webs.map(c => c.name),
        ["counter-web-1", "counter-web-2", "counter-web-3"],
    );
    for (const c of webs) {
        assert.equal(c.inputs.name, undefined, `${c.name} has a fixed name`);
        assert.equal(c.inputs.ports, undefined, `${c.name} publishes a port`);
        assert.equal(c.options.deleteBeforeReplace, undefined, "replacement is create-before-delete");
    }
});

test("App web containers join the edge and the app's networks under the app's name", async () => {
    const g = await evaluate(() => {
        const host = localHost();
        const frontnet = new BridgeNet("frontnet", { host });
        new App("counter", { host, build: appDir(), networks: [frontnet] });
    });
    const web = g.one(CONTAINER, "counter-web-1");
    assert.deepEqual(web.inputs.networksAdvanced, [
        { name: "box-edge", aliases: ["counter"] },
        { name: "frontnet", aliases: ["counter"] },
    ]);
    assert.ok(g.waitsFor(web, g.one(NETWORK, "box-edge")));
    // Workers are reachable by nobody: they join the app's networks without the alias.
    assert.deepEqual(g.one(CONTAINER, "counter-worker").inputs.networksAdvanced, [{ name: "frontnet" }]);
});

test("App public: false keeps web containers off the edge network, reachable only on the app's networks", async () => {
    const g = await evaluate(() => {
        const host = localHost();
        const frontnet = new BridgeNet("frontnet", { host });
        new App("counter", { host, build: appDir(), networks: [frontnet], public: false });
    });
    assert.deepEqual(g.one(CONTAINER, "counter-web-1").inputs.networksAdvanced, [
        { name: "frontnet", aliases: ["counter"] },
    ]);
});

test("App rejects public: false with no network to be reached on", () =>
    rejects(
        host => ({ host, build: appDir(), public: false }),
        'App "counter": public is false but the app joins no network; list the networks its callers share in networks, e.g. networks: [frontnet]',
    ));

test("App web containers must pass the default TCP healthcheck before the old ones go", async () => {
    const g = await app();
    const web = g.one(CONTAINER, "counter-web-1");
    assert.deepEqual(web.inputs.healthcheck, {
        tests: ["CMD-SHELL", tcpCheck(5000)],
        interval: "5s",
        timeout: "5s",
        retries: 3,
        startPeriod: "60s",
        startInterval: "1s",
    });
    // The deploy step waits (and reports the healthcheck output and logs), not the provider.
    assert.equal(web.inputs.wait, false);
    assert.match(
        g.one(LOCAL_COMMAND, "counter-deploy").inputs.create,
        new RegExp(`deadline=\\$\\(\\(SECONDS \\+ ${60 + 4 * 10 + 10}\\)\\)`),
    );
    const worker = g.one(CONTAINER, "counter-worker");
    assert.equal(worker.inputs.healthcheck, undefined);
    assert.ok(!worker.inputs.wait, "a worker without healthcheck cannot be waited for");
});

test("App healthcheck takes a command of its own, and false turns it (and the wait) off", async () => {
    const custom = await app({
        healthcheck: { command: ["curl", "-f", "http://127.0.0.1:5000/"], interval: 2, startPeriod: 10 },
    });
    const h = custom.one(CONTAINER, "counter-web-1").inputs.healthcheck;
    assert.deepEqual(h.tests, ["CMD", "curl", "-f", "http://127.0.0.1:5000/"]);
    assert.equal(h.interval, "2s");
    assert.equal(h.startPeriod, "10s");
    const off = await app({ healthcheck: false });
    assert.equal(off.one(CONTAINER, "counter-web-1").inputs.healthcheck, undefined);
    assert.equal(off.one(CONTAINER, "counter-web-1").inputs.wait, false);
});

test("App containers restart unless stopped, rotate logs and get time to finish requests", async () => {
    const g = await app({ logs: { maxSize: "50m", maxFiles: 5 }, stopGraceSeconds: 45 });
    for (const c of mine(g, CONTAINER)) {
        assert.equal(c.inputs.restart, "unless-stopped");
        assert.equal(c.inputs.logDriver, "json-file");
        assert.deepEqual(c.inputs.logOpts, { "max-size": "50m", "max-file": "5" });
        assert.equal(c.inputs.stopTimeout, 45);
        assert.equal(c.inputs.destroyGraceSeconds, 45);
    }
    const defaults = await app();
    assert.deepEqual(defaults.one(CONTAINER, "counter-web-1").inputs.logOpts, { "max-size": "10m", "max-file": "3" });
    assert.equal(defaults.one(CONTAINER, "counter-web-1").inputs.destroyGraceSeconds, 30);
});

test("App singleton workers are stopped before their replacement starts; others overlap", async () => {
    const g = await app({
        processes: { web: "gunicorn app:app", clock: "python clock.py", worker: "celery worker" },
        singletons: ["clock"],
    });
    assert.equal(g.one(CONTAINER, "counter-clock").options.deleteBeforeReplace, true);
    assert.equal(g.one(CONTAINER, "counter-worker").options.deleteBeforeReplace, false);
});

// --- volumes ---

test("App volumes are named <app>-<key> and mounted in the app's containers", async () => {
    const g = await app({ volumes: { "wp-content": "/var/www/html/wp-content" } });
    const volume = g.one(VOLUME, "counter-volume-wp-content");
    assert.equal(volume.inputs.name, "counter-wp-content");
    for (const c of mine(g, CONTAINER)) {
        assert.deepEqual(c.inputs.volumes, [
            { volumeName: "counter-wp-content", containerPath: "/var/www/html/wp-content" },
        ]);
        assert.ok(g.waitsFor(c, volume));
    }
});

test("App evaluates to identical inputs twice", async () => {
    const dir = appDir();
    const args: Partial<AppArgs> = { env: { A: "1" }, secrets: { B: "2" }, volumes: { data: "/data" }, replicas: 2 };
    const [a, b] = [await app(args, dir), await app(args, dir)];
    const dump = (g: Graph) =>
        JSON.stringify(g.resources.map(r => [r.key, r.rawInputs, r.options, [...r.deps].sort()]));
    assert.equal(dump(a), dump(b));
});

// --- bad input: one test per case ---

test("App rejects build and image together", () => {
    return rejects(
        host => ({ host, build: appDir(), image: "nginx:1.30" }),
        'App "counter": build and image are both given; give exactly one: build (a directory with a Dockerfile) or image (an image to pull)',
    );
});

test("App rejects neither build nor image", () => {
    return rejects(
        host => ({ host }),
        'App "counter": build and image are both missing; give exactly one: build (a directory with a Dockerfile) or image (an image to pull)',
    );
});

test("App rejects a build directory that does not exist", () => {
    const dir = path.join(os.tmpdir(), "dropyard-no-such-dir");
    return rejects(
        host => ({ host, build: dir }),
        `App "counter": build directory "${dir}" does not exist; point build at the directory holding the app's Dockerfile`,
    );
});

test("App rejects a build directory without a Dockerfile", () => {
    const dir = tempDir("dropyard-app-test-");
    return rejects(
        host => ({ host, build: dir }),
        `App "counter": build directory "${dir}" has no Dockerfile; add a Dockerfile there or use image to run an existing image`,
    );
});

test("App rejects a Procfile without web for an app that takes traffic", () => {
    return rejects(
        host => ({ host, build: appDir({ Procfile: "worker: python worker.py\n" }) }),
        'App "counter": Procfile has no web process; add web: <command> for the process serving HTTP on $PORT, or set web: false for an app without HTTP',
    );
});

test("App rejects a malformed Procfile line, naming the line", () => {
    return rejects(
        host => ({ host, build: appDir({ Procfile: "# processes\nweb gunicorn app:app\n" }) }),
        'App "counter": Procfile line 2 "web gunicorn app:app" is not "type: command"; write one process per line as type: command, e.g. web: gunicorn app:app',
    );
});

test("App rejects a link to something that is not a database", () => {
    return rejects(
        host => ({ host, build: appDir(), link: [new BridgeNet("frontnet", { host }) as unknown as Database] }),
        'App "counter": link[0] is not a database; link Postgres or MariaDB components',
    );
});

test("App rejects an env key that is not a valid variable name", () => {
    return rejects(
        host => ({ host, build: appDir(), env: { "ALLOWED-HOSTS": "x" } }),
        'App "counter": env key "ALLOWED-HOSTS" is not a valid environment variable name; use letters, digits and underscores, not starting with a digit',
    );
});

test("App rejects an env key that a linked database also sets", () => {
    return rejects(
        host => ({ host, build: appDir(), env: { DATABASE_URL: "sqlite://" }, link: [new FakeDb("counter-db", host)] }),
        'App "counter": env.DATABASE_URL is also set by linked database "counter-db"; remove it from env; the link sets it',
    );
});

test("App rejects a key given in both env and secrets", () => {
    return rejects(
        host => ({ host, build: appDir(), env: { SECRET_KEY: "a" }, secrets: { SECRET_KEY: "b" } }),
        'App "counter": secrets.SECRET_KEY is also set in env; keep it in secrets only',
    );
});

test("App rejects two linked databases setting the same variable", () => {
    return rejects(
        host => ({ host, build: appDir(), link: [new FakeDb("db-a", host), new FakeDb("db-b", host)] }),
        'App "counter": link[1] sets DATABASE_URL, which linked database "db-a" sets too; link one database per variable and pass the other\'s url through secrets under another name',
    );
});

test("App rejects PORT in env when the app has a web process", () => {
    return rejects(
        host => ({ host, build: appDir(), env: { PORT: "80" } }),
        'App "counter": env.PORT is set by the App from port; set the port argument instead',
    );
});

test("App rejects replicas below 1", () => {
    return rejects(
        host => ({ host, build: appDir(), replicas: 0 }),
        'App "counter": replicas 0 is not a whole number of at least 1; run at least one web container, e.g. replicas: 2',
    );
});

test("App rejects a fractional replica count", () => {
    return rejects(
        host => ({ host, build: appDir(), replicas: 1.5 }),
        'App "counter": replicas 1.5 is not a whole number of at least 1; run at least one web container, e.g. replicas: 2',
    );
});

test("App rejects a port out of range", () => {
    return rejects(
        host => ({ host, build: appDir(), port: 70000 }),
        'App "counter": port 70000 is not a TCP port; use a whole number from 1 to 65535',
    );
});

test("App rejects a name Docker and DNS would reject", () =>
    rejects(
        host => ({ host, build: appDir() }),
        'App "Counter_App": name "Counter_App" is not a valid name; use 1-63 lower-case letters, digits and inner hyphens (Docker and DNS both accept those)',
        "Counter_App",
    ));

test("App rejects a volume key that makes an invalid volume name", () => {
    return rejects(
        host => ({ host, build: appDir(), volumes: { WP_Content: "/var/www/html/wp-content" } }),
        'App "counter": volumes.WP_Content "counter-WP_Content" is not a valid name; use 1-63 lower-case letters, digits and inner hyphens (Docker and DNS both accept those)',
    );
});

test("App rejects a volume path that is not absolute", () => {
    return rejects(
        host => ({ host, build: appDir(), volumes: { data: "data" } }),
        'App "counter": volumes.data path "data" is not absolute; mount at a path in the container starting with /',
    );
});

test("App rejects a network on another host", () => {
    return rejects(
        host => ({
            host,
            build: appDir(),
            networks: [
                new BridgeNet("frontnet", {
                    host: new Host("other", { local: { dockerHost: "unix:///run/other/docker.sock" } }),
                }),
            ],
        }),
        'App "counter": networks[0] is on host "other", not "box"; join networks created on this App\'s host',
    );
});

test("App rejects a linked database on another host", () => {
    return rejects(
        host => ({
            host,
            build: appDir(),
            link: [new FakeDb("far-db", new Host("other", { local: { dockerHost: "unix:///run/other/docker.sock" } }))],
        }),
        'App "counter": link[0] is database "far-db" on host "other"; link databases on the App\'s host "box"',
    );
});

test("App rejects singletons naming something other than a worker", () => {
    return rejects(
        host => ({ host, build: appDir(), singletons: ["web"] }),
        'App "counter": singletons names "web", which is not a worker process type; name worker types only (have: worker)',
    );
});

test("App rejects web: false when the processes include web", () => {
    return rejects(
        host => ({ host, build: appDir(), web: false }),
        'App "counter": web is false but Procfile has a web process; remove the web process or drop web: false',
    );
});

test("App rejects DOCKER_ variables when a release step runs", () => {
    return rejects(
        host => ({ host, build: appDir(), env: { DOCKER_HOST: "tcp://elsewhere:2375" } }),
        'App "counter": env.DOCKER_HOST would redirect the docker client that runs the release step; rename the variable',
    );
});

test("App rejects a process type name Docker would not take", () => {
    return rejects(
        host => ({ host, build: appDir(), processes: { "web server": "gunicorn" } }),
        'App "counter": processes.web server is not a valid process type; use letters, digits, _ and - only',
    );
});
