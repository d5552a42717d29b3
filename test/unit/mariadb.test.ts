import { test } from "node:test";
import * as assert from "node:assert/strict";
import { evaluate, Graph, isSecretAt, resolve } from "../../sandbox/harness";
import { envOf, rejectsBeforeCreating } from "../support/helpers";
import { isDatabase, MariaDB, MariaDBArgs } from "../../lib";
import { CONTAINER, REMOTE_IMAGE } from "../support/types";
import { localHost } from "../support/fixtures";

const PASSWORD = "random:index/randomPassword:RandomPassword";

/** Evaluates one MariaDB named `db-notes` on a local host, with `extra` args. */
function maria(extra: Partial<MariaDBArgs> = {}): Promise<Graph> {
    return evaluate(() => {
        const db = new MariaDB("db-notes", { host: localHost(), ...extra });
        return { url: db.url, password: db.password, rootPassword: db.rootPassword, env: db.env };
    });
}

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

test("MariaDB healthcheck runs the image's healthcheck.sh (its timing: database.test.ts)", async () => {
    const c = (await maria()).one(CONTAINER, "db-notes-container");
    assert.deepEqual(c.inputs.healthcheck.tests, ["CMD", "healthcheck.sh", "--connect", "--innodb_initialized"]);
});

// Bad input the other engine does not have (the shared arguments' errors: database.test.ts).

test("MariaDB rejects root as the app's user, before anything exists", () =>
    rejectsBeforeCreating(
        "MariaDB",
        "db-notes",
        () => new MariaDB("db-notes", { host: localHost(), user: "root" }),
        'MariaDB "db-notes": user "root" is reserved; choose a name other than root, healthcheck, mysql',
    ));
