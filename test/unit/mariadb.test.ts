import { test } from "node:test";
import * as assert from "node:assert/strict";
import { evaluate, Graph, isSecretAt, resolve } from "../../sandbox/harness";
import { envOf, rejectsBeforeCreating } from "../support/helpers";
import { BridgeNet, Host, isDatabase, MariaDB, MariaDBArgs } from "../../lib";
import { CONTAINER, NETWORK, REMOTE_IMAGE, VOLUME } from "../support/types";
import { localHost } from "../support/fixtures";

const PASSWORD = "random:index/randomPassword:RandomPassword";

/** Evaluates one MariaDB named `db-notes` on a local host, with `extra` args. */
function maria(extra: Partial<MariaDBArgs> = {}): Promise<Graph> {
    return evaluate(() => {
        const db = new MariaDB("db-notes", { host: localHost(), ...extra });
        return { url: db.url, password: db.password, rootPassword: db.rootPassword, env: db.env };
    });
}

test("MariaDB pulls mariadb:11 by default on the host, and the container runs that image", async () => {
    const g = await maria();
    const image = g.one(REMOTE_IMAGE, "db-notes-image");
    assert.equal(image.inputs.name, "mariadb:11");
    assert.equal(image.inputs.keepLocally, true);
    const c = g.one(CONTAINER, "db-notes-container");
    assert.equal(c.inputs.image, image.outputs.imageId);
    assert.ok(g.waitsFor(c, image));
});

test("MariaDB pins the image to each supported version and keeps data at /var/lib/mysql", async () => {
    for (const version of ["10.6", "10.11", "11"]) {
        const g = await maria({ version });
        assert.equal(g.one(REMOTE_IMAGE, "db-notes-image").inputs.name, `mariadb:${version}`);
        assert.deepEqual(g.one(CONTAINER, "db-notes-container").inputs.volumes, [
            { volumeName: "db-notes-data", containerPath: "/var/lib/mysql" },
        ]);
    }
});

test("MariaDB image override replaces the official image", async () => {
    const g = await maria({ image: "mirror.example.com/library/mariadb:11" });
    assert.equal(g.one(REMOTE_IMAGE, "db-notes-image").inputs.name, "mirror.example.com/library/mariadb:11");
});

test("MariaDB data volume has a stable name, is kept on delete, and outlives the container", async () => {
    const g = await maria();
    const volume = g.one(VOLUME, "db-notes-data");
    assert.equal(volume.inputs.name, "db-notes-data");
    assert.equal(volume.options.retainOnDelete, true);
    assert.ok(g.waitsFor(g.one(CONTAINER, "db-notes-container"), volume));
});

test("MariaDB creates its database and user, with a separate root password reachable only from localhost", async () => {
    const g = await maria();
    const env = envOf(g.one(CONTAINER, "db-notes-container"));
    assert.equal(env.MARIADB_DATABASE, "db_notes");
    assert.equal(env.MARIADB_USER, "app");
    assert.equal(env.MARIADB_PASSWORD, g.outputs.password);
    assert.equal(env.MARIADB_ROOT_PASSWORD, g.outputs.rootPassword);
    assert.notEqual(env.MARIADB_ROOT_PASSWORD, env.MARIADB_PASSWORD);
    assert.equal(env.MARIADB_ROOT_HOST, "localhost");
    assert.equal(env.MARIADB_AUTO_UPGRADE, "1");
    assert.equal("MARIADB_RANDOM_ROOT_PASSWORD" in env, false);
    for (const name of ["db-notes-password", "db-notes-root-password"]) {
        assert.deepEqual(g.one(PASSWORD, name).inputs, { length: 32, special: false });
    }
});

test("MariaDB passwords, url and env are secret, in the container and as outputs", async () => {
    const g = await maria();
    const c = g.one(CONTAINER, "db-notes-container");
    for (const key of ["MARIADB_PASSWORD", "MARIADB_ROOT_PASSWORD"]) {
        const i = (c.inputs.envs as string[]).findIndex(e => e.startsWith(`${key}=`));
        assert.ok(i >= 0, key);
        assert.ok(isSecretAt(c, `envs.${i}`), key);
    }
    for (const out of ["url", "password", "rootPassword", "env"])
        assert.ok(g.secretOutputs.has(out), `${out} is not secret`);
});

test("MariaDB env carries DATABASE_URL (mysql://) and DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD", async () => {
    const g = await maria({ database: "notes", user: "notes" });
    const password = g.outputs.password as string;
    assert.equal(g.outputs.url, `mysql://notes:${password}@db-notes:3306/notes`);
    assert.deepEqual(g.outputs.env, {
        DATABASE_URL: g.outputs.url,
        DB_HOST: "db-notes",
        DB_PORT: "3306",
        DB_NAME: "notes",
        DB_USER: "notes",
        DB_PASSWORD: password,
    });
    const url = new URL(g.outputs.url as string);
    assert.equal(decodeURIComponent(url.password), password);
    assert.equal(url.hostname, "db-notes");
    assert.equal(url.pathname, "/notes");
});

test("MariaDB is a Database an App can link, with envKeys matching env", async () => {
    let db!: MariaDB;
    await evaluate(async () => {
        const host = localHost();
        db = new MariaDB("db-notes", { host });
        assert.ok(isDatabase(db));
        assert.equal(db.host, host);
        const env = await resolve(db.env);
        assert.equal(env.secret, true);
        assert.deepEqual(Object.keys(env.value), [...db.envKeys]);
        for (const out of [db.url, db.password, db.rootPassword]) assert.equal((await resolve(out)).secret, true);
        assert.equal((await resolve(db.networkNames[0])).value, "db-notes-net");
    });
    assert.equal(db.engine, "mariadb");
    assert.equal(db.databaseName, "db-notes");
    assert.equal(db.hostname, "db-notes");
    assert.equal(db.port, 3306);
    assert.equal(db.database, "db_notes");
    assert.equal(db.user, "app");
});

test("MariaDB speaks utf8mb4", async () => {
    const c = (await maria()).one(CONTAINER, "db-notes-container");
    assert.deepEqual(c.inputs.command, ["--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci"]);
});

test("MariaDB healthcheck runs the image's healthcheck.sh, and pulumi waits for it", async () => {
    const c = (await maria()).one(CONTAINER, "db-notes-container");
    assert.deepEqual(c.inputs.healthcheck, {
        tests: ["CMD", "healthcheck.sh", "--connect", "--innodb_initialized"],
        interval: "5s",
        timeout: "5s",
        retries: 5,
        startPeriod: "60s",
    });
    assert.equal(c.inputs.wait, true);
    assert.ok(c.inputs.waitTimeout >= 60);
});

test("MariaDB restarts unless stopped, rotates logs and stops cleanly", async () => {
    const c = (await maria()).one(CONTAINER, "db-notes-container");
    assert.equal(c.inputs.restart, "unless-stopped");
    assert.equal(c.inputs.logDriver, "json-file");
    assert.deepEqual(c.inputs.logOpts, { "max-size": "10m", "max-file": "3" });
    assert.equal(c.inputs.destroyGraceSeconds, c.inputs.stopTimeout);
});

test("MariaDB publishes no port", async () => {
    const c = (await maria()).one(CONTAINER, "db-notes-container");
    assert.equal("ports" in c.inputs, false);
    assert.equal("ports" in c.rawInputs, false);
});

test("MariaDB gets its own internal network by default and is reachable there by its name", async () => {
    const g = await maria();
    const own = g.ofType(NETWORK).filter(n => n.parent === "dropyard:index:MariaDB::db-notes");
    assert.equal(own.length, 1);
    assert.equal(own[0].inputs.name, "db-notes-net");
    assert.equal(own[0].inputs.internal, true);
    assert.deepEqual(g.one(CONTAINER, "db-notes-container").inputs.networksAdvanced, [
        { name: "db-notes-net", aliases: ["db-notes"] },
    ]);
});

test("MariaDB with networks joins exactly those, under its name, and makes no network of its own", async () => {
    const g = await evaluate(() => {
        const host = localHost();
        new MariaDB("db-notes", { host, networks: [new BridgeNet("frontnet", { host })] });
    });
    assert.equal(g.ofType(NETWORK).filter(n => n.parent === "dropyard:index:MariaDB::db-notes").length, 0);
    assert.deepEqual(g.one(CONTAINER, "db-notes-container").inputs.networksAdvanced, [
        { name: "frontnet", aliases: ["db-notes"] },
    ]);
});

test("MariaDB container has a fixed name, so it is replaced delete-before-replace", async () => {
    const c = (await maria()).one(CONTAINER, "db-notes-container");
    assert.equal(c.inputs.name, "db-notes");
    assert.equal(c.options.deleteBeforeReplace, true);
});

test("every docker resource of MariaDB uses the host's provider", async () => {
    const g = await maria();
    const docker = g.customResourcesUnder("dropyard:index:MariaDB::db-notes").filter(r => r.type.startsWith("docker:"));
    assert.deepEqual(docker.map(r => r.type).sort(), [CONTAINER, NETWORK, REMOTE_IMAGE, VOLUME].sort());
    for (const r of docker) assert.equal(r.provider, "pulumi:providers:docker::box-docker", r.key);
});

test("MariaDB evaluated twice records identical inputs", async () => {
    const snapshot = (g: Graph) => g.resources.map(r => [r.key, r.inputs, r.options]);
    assert.deepEqual(snapshot(await maria()), snapshot(await maria()));
});

// Bad input: one test per case, each before any resource exists.

/** `make` throws exactly `message`, and nothing was created under the MariaDB. */
function throwsBeforeCreating(make: (host: Host) => unknown, message: string, name = "db-notes"): Promise<void> {
    return rejectsBeforeCreating("MariaDB", name, () => make(localHost()), message);
}

function rejects(
    args: Omit<Partial<MariaDBArgs>, "host"> & { host?: unknown },
    message: string,
    name = "db-notes",
): Promise<void> {
    return throwsBeforeCreating(host => new MariaDB(name, { host, ...args } as MariaDBArgs), message, name);
}

test("MariaDB rejects an unsupported version", () =>
    rejects({ version: "10.5" }, 'MariaDB "db-notes": version "10.5" is not supported; use one of 10.6, 10.11, 11'));

test("MariaDB rejects a name Docker and DNS would reject", () =>
    rejects(
        {},
        'MariaDB "Db-Notes": name "Db-Notes" is not a valid name; use 1-63 lower-case letters, digits and inner hyphens (Docker and DNS both accept those)',
        "Db-Notes",
    ));

test("MariaDB rejects a database name that is not an identifier", () =>
    rejects(
        { database: "notes.db" },
        'MariaDB "db-notes": database "notes.db" is not a valid identifier; use 1-63 lower-case letters, digits and underscores, not starting with a digit',
    ));

test("MariaDB rejects a system schema as its database", () =>
    rejects(
        { database: "mysql" },
        'MariaDB "db-notes": database "mysql" is reserved; choose a name other than mysql, information_schema, performance_schema, sys',
    ));

test("MariaDB rejects a user that is not an identifier", () =>
    rejects(
        { user: "1user" },
        'MariaDB "db-notes": user "1user" is not a valid identifier; use 1-63 lower-case letters, digits and underscores, not starting with a digit',
    ));

test("MariaDB rejects root as the app's user", () =>
    rejects(
        { user: "root" },
        'MariaDB "db-notes": user "root" is reserved; choose a name other than root, healthcheck, mysql',
    ));

test("MariaDB rejects a host that is not a Host", () =>
    rejects({ host: "box" }, 'MariaDB "db-notes": host is not a Host; pass the Host the database runs on'));

test("MariaDB rejects networks entries that are not BridgeNets", () =>
    throwsBeforeCreating(
        host => new MariaDB("db-notes", { host, networks: [host.edgeNetwork as unknown as BridgeNet] }),
        'MariaDB "db-notes": networks[0] is not a BridgeNet; create the network with new BridgeNet(name, { host })',
    ));

test("MariaDB rejects a network on another host", () =>
    throwsBeforeCreating(host => {
        const other = new BridgeNet("authnet", {
            host: new Host("other", { local: { dockerHost: "unix:///run/other/docker.sock" } }),
        });
        return new MariaDB("db-notes", { host, networks: [other] });
    }, 'MariaDB "db-notes": networks[0] is on host "other", not "box"; use a BridgeNet created on the database\'s Host'));
