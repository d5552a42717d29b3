// What Postgres and MariaDB share (lib/database/base.ts and args.ts), checked once and run for each engine:
// the container's policies, its networks, its provider, and the errors of the shared arguments. What differs
// (versions, data paths, env, healthchecks, reserved names) stays in postgres.test.ts and mariadb.test.ts.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { evaluate, Graph, resolve } from "../../sandbox/harness";
import { rejectsBeforeCreating } from "../support/helpers";
import { BridgeNet, Database, Host, MariaDB, Postgres } from "../../lib";
import { CONTAINER, NETWORK, REMOTE_COMMAND, REMOTE_IMAGE, VOLUME } from "../support/types";
import { localHost } from "../support/fixtures";

/** The arguments every engine takes, loosely typed so a test can also give wrong ones. */
type Args = { host: unknown } & Record<string, unknown>;

/** Each engine, with the facts its errors quote: supported versions and the database names it reserves. */
const ENGINES = [
    {
        kind: "Postgres",
        make: (name: string, args: Args): Database => new Postgres(name, args as never),
        defaultImage: "postgres:17",
        versions: "14, 15, 16, 17, 18",
        reservedDatabases: "template0, template1",
    },
    {
        kind: "MariaDB",
        make: (name: string, args: Args): Database => new MariaDB(name, args as never),
        defaultImage: "mariadb:11",
        versions: "10.6, 10.11, 11",
        reservedDatabases: "mysql, information_schema, performance_schema, sys",
    },
] as const;

for (const { kind, make, defaultImage, versions, reservedDatabases } of ENGINES) {
    const NAME = "shop-db";
    const KEY = `dropyard:index:${kind}::${NAME}`;

    /** Evaluates one database named `shop-db` on a local host, with `extra` args. */
    const db = (extra: Record<string, unknown> = {}): Promise<Graph> =>
        evaluate(() => {
            make(NAME, { host: localHost(), ...extra });
        });
    const container = async () => (await db()).one(CONTAINER, `${NAME}-container`);

    /** `build(host)` throws exactly `message` (prefixed with the component and name) and creates nothing. */
    const refuses = (build: (host: Host) => unknown, message: string, name = NAME): Promise<void> =>
        rejectsBeforeCreating(kind, name, () => build(localHost()), `${kind} "${name}": ${message}`);
    /** The database with `args` is refused with `message`. */
    const rejects = (args: Record<string, unknown>, message: string, name = NAME): Promise<void> =>
        refuses(host => make(name, { host, ...args }), message, name);

    test(`${kind} pulls ${defaultImage} by default on the host, and the container runs that image`, async () => {
        const g = await db();
        const image = g.one(REMOTE_IMAGE, `${NAME}-image`);
        assert.equal(image.inputs.name, defaultImage);
        assert.equal(image.inputs.keepLocally, true);
        const c = g.one(CONTAINER, `${NAME}-container`);
        assert.equal(c.inputs.image, image.outputs.imageId);
        assert.ok(g.waitsFor(c, image));
    });

    test(`${kind} data volume has a stable name, is kept on delete, and outlives the container`, async () => {
        const g = await db();
        const volume = g.one(VOLUME, `${NAME}-data`);
        assert.equal(volume.inputs.name, `${NAME}-data`);
        assert.equal(volume.options.retainOnDelete, true);
        assert.ok(g.waitsFor(g.one(CONTAINER, `${NAME}-container`), volume));
    });

    test(`${kind} healthcheck runs every 5 s with a minute to boot, and pulumi waits for it`, async () => {
        const c = await container();
        const { tests: _tests, ...timing } = c.inputs.healthcheck;
        assert.deepEqual(timing, { interval: "5s", timeout: "5s", retries: 5, startPeriod: "60s" });
        assert.equal(c.inputs.wait, true);
        assert.ok(c.inputs.waitTimeout >= 60);
    });

    test(`${kind} restarts unless stopped, rotates logs and stops cleanly`, async () => {
        const c = await container();
        assert.equal(c.inputs.restart, "unless-stopped");
        assert.equal(c.inputs.logDriver, "json-file");
        assert.deepEqual(c.inputs.logOpts, { "max-size": "10m", "max-file": "3" });
        assert.equal(c.inputs.destroyGraceSeconds, c.inputs.stopTimeout);
    });

    test(`${kind} publishes no port`, async () => {
        const c = await container();
        assert.equal("ports" in c.inputs, false);
        assert.equal("ports" in c.rawInputs, false);
    });

    test(`${kind} gets its own internal network by default and is reachable there by its name`, async () => {
        const g = await db();
        const own = g.ofType(NETWORK).filter(n => n.parent === KEY);
        assert.deepEqual(
            own.map(n => [n.name, n.inputs.name, n.inputs.internal]),
            [[`${NAME}-net`, `${NAME}-net`, true]],
        );
        assert.deepEqual(g.one(CONTAINER, `${NAME}-container`).inputs.networksAdvanced, [
            { name: `${NAME}-net`, aliases: [NAME] },
        ]);
    });

    test(`${kind} with networks joins exactly those, under its name, and makes no network of its own`, async () => {
        let names: string[] = [];
        const g = await evaluate(async () => {
            const host = localHost();
            const frontnet = new BridgeNet("frontnet", { host });
            const backnet = new BridgeNet("backnet", { host, internal: true });
            const d = make(NAME, { host, networks: [frontnet, backnet] });
            names = await Promise.all(d.networkNames.map(async n => (await resolve(n)).value));
        });
        assert.equal(g.ofType(NETWORK).filter(n => n.parent === KEY).length, 0);
        assert.deepEqual(g.one(CONTAINER, `${NAME}-container`).inputs.networksAdvanced, [
            { name: "frontnet", aliases: [NAME] },
            { name: "backnet", aliases: [NAME] },
        ]);
        assert.deepEqual(names, ["frontnet", "backnet"]);
    });

    test(`${kind} container has a fixed name, so it is replaced delete-before-replace`, async () => {
        const c = await container();
        assert.equal(c.inputs.name, NAME);
        assert.equal(c.options.deleteBeforeReplace, true);
    });

    test(`every docker resource of ${kind} uses the host's provider`, async () => {
        const docker = (await db()).customResourcesUnder(KEY).filter(r => r.type.startsWith("docker:"));
        assert.deepEqual(docker.map(r => r.type).sort(), [CONTAINER, NETWORK, REMOTE_IMAGE, VOLUME].sort());
        for (const r of docker) assert.equal(r.provider, "pulumi:providers:docker::box-docker", r.key);
    });

    test(`${kind} on a droplet pulls, stores and runs only after the host's bootstrap`, async () => {
        const g = await evaluate(() => make(NAME, { host: new Host("box", { droplet: {} }) }));
        const bootstrap = g.one(REMOTE_COMMAND, "box-bootstrap");
        for (const r of g.customResourcesUnder(KEY).filter(r => r.type.startsWith("docker:"))) {
            assert.ok(g.waitsFor(r, bootstrap), `${r.key} does not wait for the bootstrap`);
        }
    });

    test(`${kind} evaluated twice records identical inputs`, async () => {
        const snapshot = (g: Graph) => g.resources.map(r => [r.key, r.inputs, r.options]);
        assert.deepEqual(snapshot(await db()), snapshot(await db()));
    });

    // Bad input: one test per case, each before any resource exists.

    test(`${kind} rejects an unsupported version`, () =>
        rejects({ version: "9" }, `version "9" is not supported; use one of ${versions}`));

    test(`${kind} rejects a database name the server reserves`, async () => {
        for (const database of reservedDatabases.split(", ")) {
            await rejects(
                { database },
                `database "${database}" is reserved; choose a name other than ${reservedDatabases}`,
            );
        }
    });

    test(`${kind} rejects a name Docker and DNS would reject`, () =>
        rejects(
            {},
            'name "shop_db" is not a valid name; use 1-63 lower-case letters, digits and inner hyphens ' +
                "(Docker and DNS both accept those)",
            "shop_db",
        ));

    test(`${kind} rejects a database name that is not an identifier`, () =>
        rejects(
            { database: "shop.db" },
            'database "shop.db" is not a valid identifier; ' +
                "use 1-63 lower-case letters, digits and underscores, not starting with a digit",
        ));

    test(`${kind} rejects a user that is not an identifier`, () =>
        rejects(
            { user: "Shop User" },
            'user "Shop User" is not a valid identifier; ' +
                "use 1-63 lower-case letters, digits and underscores, not starting with a digit",
        ));

    test(`${kind} rejects a host that is not a Host`, async () => {
        await rejects({ host: "box" }, "host is not a Host; pass the Host the database runs on");
        await rejects({ host: { provider: {} } }, "host is not a Host; pass the Host the database runs on");
    });

    test(`${kind} rejects an image reference with spaces`, () =>
        rejects(
            { image: "mirror db:1" },
            'image "mirror db:1" is not an image reference; give a name and tag without spaces, ' +
                `e.g. "mirror.example.com/${kind.toLowerCase()}:${kind === "Postgres" ? "17" : "11"}"`,
        ));

    test(`${kind} rejects networks entries that are not BridgeNets`, async () => {
        const message = "networks[0] is not a BridgeNet; create the network with new BridgeNet(name, { host })";
        await rejects({ networks: ["frontnet"] }, message);
        await refuses(host => make(NAME, { host, networks: [host.edgeNetwork] }), message);
    });

    test(`${kind} rejects networks that is not a list`, () =>
        refuses(
            host => make(NAME, { host, networks: new BridgeNet("frontnet", { host }) }),
            "networks is a BridgeNet, not a list of BridgeNets; pass an array of BridgeNet, e.g. networks: [frontnet]",
        ));

    test(`${kind} rejects an empty networks list`, () =>
        rejects(
            { networks: [] },
            "networks is empty; omit it for the database's own internal network, or list at least one BridgeNet",
        ));

    test(`${kind} rejects a network listed twice`, () =>
        refuses(host => {
            const net = new BridgeNet("frontnet", { host });
            return make(NAME, { host, networks: [net, net] });
        }, "networks[1] repeats networks[0]; list each BridgeNet once"));

    test(`${kind} rejects a network on another host`, () =>
        refuses(host => {
            const other = new BridgeNet("authnet", {
                host: new Host("other", { local: { dockerHost: "unix:///run/other/docker.sock" } }),
            });
            return make(NAME, { host, networks: [other] });
        }, 'networks[0] is on host "other", not "box"; use a BridgeNet created on the database\'s Host'));
}
