import { test } from "node:test";
import * as assert from "node:assert/strict";
import { evaluate, Graph, isSecretAt, resolve } from "../../sandbox/harness";
import { envOf, rejectsBeforeCreating } from "../support/helpers";
import { isDatabase, Postgres, PostgresArgs } from "../../lib";
import { CONTAINER, REMOTE_IMAGE } from "../support/types";
import { localHost } from "../support/fixtures";

/** Evaluates one Postgres named `counter-db` on a local host, with `extra` args. */
function pg(extra: Partial<PostgresArgs> = {}): Promise<Graph> {
    return evaluate(() => {
        const db = new Postgres("counter-db", { host: localHost(), ...extra });
        return { url: db.url, password: db.password, env: db.env };
    });
}

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

test("Postgres healthcheck asks pg_isready over TCP (its timing: database.test.ts)", async () => {
    const c = (await pg({ user: "django", database: "counter" })).one(CONTAINER, "counter-db-container");
    assert.deepEqual(c.inputs.healthcheck.tests, [
        "CMD",
        "pg_isready",
        "-h",
        "127.0.0.1",
        "-U",
        "django",
        "-d",
        "counter",
    ]);
});

test("Postgres stops with SIGINT, its fast shutdown (restart and log policies: database.test.ts)", async () => {
    const c = (await pg()).one(CONTAINER, "counter-db-container");
    assert.equal(c.inputs.stopSignal, "SIGINT");
});

test("Postgres raises /dev/shm to 256 MB, or as told", async () => {
    assert.equal((await pg()).one(CONTAINER, "counter-db-container").inputs.shmSize, 256);
    assert.equal((await pg({ shmSize: 1024 })).one(CONTAINER, "counter-db-container").inputs.shmSize, 1024);
});

// Bad input the other engine does not have (the shared arguments' errors: database.test.ts).

test("Postgres rejects a shmSize that is not a whole number of MB, before anything exists", () =>
    rejectsBeforeCreating(
        "Postgres",
        "counter-db",
        () => new Postgres("counter-db", { host: localHost(), shmSize: 0.5 }),
        'Postgres "counter-db": shmSize 0.5 is not a size in MB; use a whole number of megabytes, at least 1',
    ));
