import { test } from "node:test";
import * as assert from "node:assert/strict";
import { evaluate, Graph, isSecretAt, resolve } from "../../sandbox/harness";
import { envOf, rejectsBeforeCreating } from "../support/helpers";
import { BridgeNet, Host, isDatabase, Postgres, PostgresArgs } from "../../lib";
import { CONTAINER, NETWORK, REMOTE_COMMAND, REMOTE_IMAGE, VOLUME } from "../support/types";
import { localHost } from "../support/fixtures";

/** Evaluates one Postgres named `counter-db` on a local host, with `extra` args. */
function pg(extra: Partial<PostgresArgs> = {}): Promise<Graph> {
    return evaluate(() => {
        const db = new Postgres("counter-db", { host: localHost(), ...extra });
        return { url: db.url, password: db.password, env: db.env };
    });
}

test("Postgres pulls postgres:17 by default on the host, and the container runs that image", async () => {
    const g = await pg();
    const image = g.one(REMOTE_IMAGE, "counter-db-image");
    assert.equal(image.inputs.name, "postgres:17");
    assert.equal(image.inputs.keepLocally, true);
    const c = g.one(CONTAINER, "counter-db-container");
    assert.equal(c.inputs.image, image.outputs.imageId);
    assert.ok(g.waitsFor(c, image));
});

test("Postgres pins the image to each supported major version", async () => {
    for (const version of ["14", "15", "16", "17", "18"]) {
        const g = await pg({ version });
        assert.equal(g.one(REMOTE_IMAGE, "counter-db-image").inputs.name, `postgres:${version}`);
    }
});

test("Postgres image override replaces the image but keeps the version's data path", async () => {
    const g = await pg({ image: "mirror.example.com/library/postgres:18", version: "18" });
    assert.equal(g.one(REMOTE_IMAGE, "counter-db-image").inputs.name, "mirror.example.com/library/postgres:18");
    assert.deepEqual(g.one(CONTAINER, "counter-db-container").inputs.volumes[0].containerPath, "/var/lib/postgresql");
});

test("Postgres before 18 keeps its data on the volume at /var/lib/postgresql/data", async () => {
    for (const version of ["14", "15", "16", "17"]) {
        const g = await pg({ version });
        const c = g.one(CONTAINER, "counter-db-container");
        assert.deepEqual(c.inputs.volumes, [
            { volumeName: "counter-db-data", containerPath: "/var/lib/postgresql/data" },
        ]);
        assert.equal(envOf(c).PGDATA, "/var/lib/postgresql/data");
    }
});

test("Postgres 18 mounts the volume at /var/lib/postgresql, where its PGDATA lives", async () => {
    const g = await pg({ version: "18" });
    const c = g.one(CONTAINER, "counter-db-container");
    assert.deepEqual(c.inputs.volumes, [{ volumeName: "counter-db-data", containerPath: "/var/lib/postgresql" }]);
    assert.equal(envOf(c).PGDATA, "/var/lib/postgresql/18/docker");
    assert.ok(envOf(c).PGDATA.startsWith(`${c.inputs.volumes[0].containerPath}/`), "PGDATA must be inside the volume");
});

test("Postgres data volume has a stable name, is kept on delete, and outlives the container", async () => {
    const g = await pg();
    const volume = g.one(VOLUME, "counter-db-data");
    assert.equal(volume.inputs.name, "counter-db-data");
    assert.equal(volume.options.retainOnDelete, true);
    assert.equal(volume.parent, "dropyard:index:Postgres::counter-db");
    assert.ok(g.waitsFor(g.one(CONTAINER, "counter-db-container"), volume));
});

test("Postgres password, url and env are secret, in the container and as outputs", async () => {
    const g = await pg();
    const c = g.one(CONTAINER, "counter-db-container");
    const i = (c.inputs.envs as string[]).findIndex(e => e.startsWith("POSTGRES_PASSWORD="));
    assert.ok(i >= 0);
    assert.ok(isSecretAt(c, `envs.${i}`));
    for (const out of ["url", "password", "env"]) assert.ok(g.secretOutputs.has(out), `${out} is not secret`);

    const password = g.outputs.password as string;
    assert.equal(envOf(c).POSTGRES_PASSWORD, password);
    assert.equal(g.outputs.url, `postgres://app:${password}@counter-db:5432/counter_db`);
    assert.deepEqual(g.outputs.env, { DATABASE_URL: g.outputs.url });
});

test("Postgres password has no characters that need escaping, and the url survives a URL parser", async () => {
    const g = await pg();
    assert.deepEqual(g.one("random:index/randomPassword:RandomPassword", "counter-db-password").inputs, {
        length: 32,
        special: false,
    });
    const url = new URL(g.outputs.url as string);
    assert.equal(decodeURIComponent(url.password), g.outputs.password);
    assert.equal(url.username, "app");
    assert.equal(url.hostname, "counter-db");
    assert.equal(url.port, "5432");
    assert.equal(url.pathname, "/counter_db");
});

test("Postgres outputs read directly are secret or plain as documented", async () => {
    let db!: Postgres;
    await evaluate(async () => {
        db = new Postgres("counter-db", { host: localHost() });
        for (const out of [db.url, db.password, db.env]) assert.equal((await resolve<unknown>(out)).secret, true);
        assert.deepEqual((await resolve(db.networkNames[0])).value, "counter-db-net");
    });
    assert.equal(db.hostname, "counter-db");
    assert.equal(db.port, 5432);
    assert.equal(db.database, "counter_db");
    assert.equal(db.user, "app");
});

test("Postgres database name defaults from the component name; database and user can be set", async () => {
    const g = await pg({ database: "counter", user: "django" });
    const env = envOf(g.one(CONTAINER, "counter-db-container"));
    assert.equal(env.POSTGRES_DB, "counter");
    assert.equal(env.POSTGRES_USER, "django");
    assert.match(g.outputs.url as string, /^postgres:\/\/django:[^@]+@counter-db:5432\/counter$/);
    const digits = await evaluate(() => new Postgres("9db", { host: localHost() }));
    assert.equal(envOf(digits.one(CONTAINER, "9db-container")).POSTGRES_DB, "db_9db");
});

test("Postgres is a Database an App can link", async () => {
    await evaluate(async () => {
        const host = localHost();
        const db = new Postgres("counter-db", { host });
        assert.ok(isDatabase(db));
        assert.equal(db.engine, "postgres");
        assert.equal(db.databaseName, "counter-db");
        assert.equal(db.host, host);
        assert.deepEqual(Object.keys((await resolve(db.env)).value), [...db.envKeys]);
    });
});

test("Postgres healthcheck asks pg_isready over TCP, and pulumi waits for it", async () => {
    const c = (await pg({ user: "django", database: "counter" })).one(CONTAINER, "counter-db-container");
    assert.deepEqual(c.inputs.healthcheck, {
        tests: ["CMD", "pg_isready", "-h", "127.0.0.1", "-U", "django", "-d", "counter"],
        interval: "5s",
        timeout: "5s",
        retries: 5,
        startPeriod: "60s",
    });
    assert.equal(c.inputs.wait, true);
    assert.ok(c.inputs.waitTimeout >= 60);
});

test("Postgres restarts unless stopped, rotates logs and stops cleanly", async () => {
    const c = (await pg()).one(CONTAINER, "counter-db-container");
    assert.equal(c.inputs.restart, "unless-stopped");
    assert.equal(c.inputs.logDriver, "json-file");
    assert.deepEqual(c.inputs.logOpts, { "max-size": "10m", "max-file": "3" });
    assert.equal(c.inputs.stopSignal, "SIGINT");
    assert.equal(c.inputs.destroyGraceSeconds, c.inputs.stopTimeout);
});

test("Postgres raises /dev/shm to 256 MB, or as told", async () => {
    assert.equal((await pg()).one(CONTAINER, "counter-db-container").inputs.shmSize, 256);
    assert.equal((await pg({ shmSize: 1024 })).one(CONTAINER, "counter-db-container").inputs.shmSize, 1024);
});

test("Postgres publishes no port", async () => {
    const c = (await pg()).one(CONTAINER, "counter-db-container");
    assert.equal("ports" in c.inputs, false);
    assert.equal("ports" in c.rawInputs, false);
});

test("Postgres gets its own internal network by default and is reachable there by its name", async () => {
    const g = await pg();
    const ownNets = g.ofType(NETWORK).filter(n => n.parent === "dropyard:index:Postgres::counter-db");
    assert.equal(ownNets.length, 1);
    assert.equal(ownNets[0].name, "counter-db-net");
    assert.equal(ownNets[0].inputs.name, "counter-db-net");
    assert.equal(ownNets[0].inputs.internal, true);
    assert.deepEqual(g.one(CONTAINER, "counter-db-container").inputs.networksAdvanced, [
        { name: "counter-db-net", aliases: ["counter-db"] },
    ]);
});

test("Postgres with networks joins exactly those, under its name, and makes no network of its own", async () => {
    let names: string[] = [];
    const g = await evaluate(async () => {
        const host = localHost();
        const frontnet = new BridgeNet("frontnet", { host });
        const backnet = new BridgeNet("backnet", { host, internal: true });
        const db = new Postgres("counter-db", { host, networks: [frontnet, backnet] });
        names = await Promise.all(db.networkNames.map(async n => (await resolve(n)).value));
    });
    assert.equal(g.ofType(NETWORK).filter(n => n.parent === "dropyard:index:Postgres::counter-db").length, 0);
    assert.deepEqual(g.one(CONTAINER, "counter-db-container").inputs.networksAdvanced, [
        { name: "frontnet", aliases: ["counter-db"] },
        { name: "backnet", aliases: ["counter-db"] },
    ]);
    assert.deepEqual(names, ["frontnet", "backnet"]);
});

test("Postgres container has a fixed name, so it is replaced delete-before-replace", async () => {
    const c = (await pg()).one(CONTAINER, "counter-db-container");
    assert.equal(c.inputs.name, "counter-db");
    assert.equal(c.options.deleteBeforeReplace, true);
});

test("every docker resource of Postgres uses the host's provider", async () => {
    const g = await pg();
    const docker = g
        .customResourcesUnder("dropyard:index:Postgres::counter-db")
        .filter(r => r.type.startsWith("docker:"));
    assert.deepEqual(docker.map(r => r.type).sort(), [CONTAINER, NETWORK, REMOTE_IMAGE, VOLUME].sort());
    for (const r of docker) assert.equal(r.provider, "pulumi:providers:docker::box-docker", r.key);
});

test("Postgres on a droplet pulls, stores and runs only after the host's bootstrap", async () => {
    const g = await evaluate(() => new Postgres("counter-db", { host: new Host("box", { droplet: {} }) }));
    const bootstrap = g.one(REMOTE_COMMAND, "box-bootstrap");
    for (const r of g
        .customResourcesUnder("dropyard:index:Postgres::counter-db")
        .filter(r => r.type.startsWith("docker:"))) {
        assert.ok(g.waitsFor(r, bootstrap), `${r.key} does not wait for the bootstrap`);
    }
});

test("Postgres evaluated twice records identical inputs", async () => {
    const snapshot = (g: Graph) => g.resources.map(r => [r.key, r.inputs, r.options]);
    assert.deepEqual(snapshot(await pg({ version: "18" })), snapshot(await pg({ version: "18" })));
});

// Bad input: one test per case, each before any resource exists.

/** `make` throws exactly `message`, and nothing was created under the Postgres. */
function throwsBeforeCreating(make: (host: Host) => unknown, message: string, name = "counter-db"): Promise<void> {
    return rejectsBeforeCreating("Postgres", name, () => make(localHost()), message);
}

function rejects(
    args: Omit<Partial<PostgresArgs>, "host"> & { host?: unknown },
    message: string,
    name = "counter-db",
): Promise<void> {
    return throwsBeforeCreating(host => new Postgres(name, { host, ...args } as PostgresArgs), message, name);
}

test("Postgres rejects an unsupported version", () =>
    rejects({ version: "9" }, 'Postgres "counter-db": version "9" is not supported; use one of 14, 15, 16, 17, 18'));

test("Postgres rejects a name Docker and DNS would reject", () =>
    rejects(
        {},
        'Postgres "counter_db": name "counter_db" is not a valid name; use 1-63 lower-case letters, digits and inner hyphens (Docker and DNS both accept those)',
        "counter_db",
    ));

test("Postgres rejects a database name that is not an identifier", () =>
    rejects(
        { database: "counter-db" },
        'Postgres "counter-db": database "counter-db" is not a valid identifier; use 1-63 lower-case letters, digits and underscores, not starting with a digit',
    ));

test("Postgres rejects a template database as its database", () =>
    rejects(
        { database: "template1" },
        'Postgres "counter-db": database "template1" is reserved; choose a name other than template0, template1',
    ));

test("Postgres rejects a user that is not an identifier", () =>
    rejects(
        { user: "Django User" },
        'Postgres "counter-db": user "Django User" is not a valid identifier; use 1-63 lower-case letters, digits and underscores, not starting with a digit',
    ));

test("Postgres rejects a host that is not a Host", () =>
    rejects(
        { host: { provider: {} } },
        'Postgres "counter-db": host is not a Host; pass the Host the database runs on',
    ));

test("Postgres rejects an image reference with spaces", () =>
    rejects(
        { image: "postgres 17" },
        'Postgres "counter-db": image "postgres 17" is not an image reference; give a name and tag without spaces, e.g. "mirror.example.com/postgres:17"',
    ));

test("Postgres rejects a shmSize that is not a whole number of MB", () =>
    rejects(
        { shmSize: 0.5 },
        'Postgres "counter-db": shmSize 0.5 is not a size in MB; use a whole number of megabytes, at least 1',
    ));

test("Postgres rejects networks entries that are not BridgeNets", () =>
    rejects(
        { networks: ["frontnet"] as unknown as BridgeNet[] },
        'Postgres "counter-db": networks[0] is not a BridgeNet; create the network with new BridgeNet(name, { host })',
    ));

test("Postgres rejects networks that is not a list", () =>
    throwsBeforeCreating(
        host =>
            new Postgres("counter-db", {
                host,
                networks: new BridgeNet("frontnet", { host }) as unknown as BridgeNet[],
            }),
        'Postgres "counter-db": networks is a BridgeNet, not a list of BridgeNets; pass an array of BridgeNet, e.g. networks: [frontnet]',
    ));

test("Postgres rejects an empty networks list", () =>
    rejects(
        { networks: [] },
        'Postgres "counter-db": networks is empty; omit it for the database\'s own internal network, or list at least one BridgeNet',
    ));

test("Postgres rejects a network listed twice", () =>
    throwsBeforeCreating(host => {
        const net = new BridgeNet("frontnet", { host });
        return new Postgres("counter-db", { host, networks: [net, net] });
    }, 'Postgres "counter-db": networks[1] repeats networks[0]; list each BridgeNet once'));

test("Postgres rejects a network on another host", () =>
    throwsBeforeCreating(host => {
        const other = new BridgeNet("frontnet", {
            host: new Host("other", { local: { dockerHost: "unix:///run/other/docker.sock" } }),
        });
        return new Postgres("counter-db", { host, networks: [other] });
    }, 'Postgres "counter-db": networks[0] is on host "other", not "box"; use a BridgeNet created on the database\'s Host'));
