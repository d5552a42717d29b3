// examples/notes-two-nets deployed on the local engine by the sandbox (self-signed certificate, its
// default locally), then checked: a user signs up and in through notes (which asks userauth) and keeps
// notes; from inside notes, db-userauth neither resolves nor answers while userauth does; only the edge
// publishes host ports; a second up changes nothing. Traffic goes to loopback and, through docker exec,
// between the stack's own containers.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { containers, exec, execResult, inspect, ipOn, mariadb, theContainer } from "../../support/docker";
import { CookieJar, fetchVia } from "../../../sandbox/lib/http";
import { changes, deployment, prepare, teardown } from "../support/stack";

const HOST = "notes-host";
const DOMAIN = "notes.localhost";
const EDGE = `${HOST}-nginx`;
const IMAGES = ["mariadb:11", "nginx:1.30", "node:20-slim"];
const USER = `e2e-${randomBytes(4).toString("hex")}`;
const PASSWORD = "correct horse battery staple";
const SAME_SITE = { origin: `https://${DOMAIN}` };

const d = deployment("notes-two-nets", DOMAIN);

/** The one running container of an App (web process). */
function appContainer(app: string): Promise<string> {
    return theContainer(`label=dev.dropyard.app=${app}`, "label=dev.dropyard.process=web");
}

/** `node -e` inside a container: what a process of that service sees on its networks. */
function nodeIn(container: string, script: string, ...args: string[]): Promise<string> {
    return exec(container, "node", "-e", script, ...args);
}

/** Resolves a name the way the service's code would (getaddrinfo): the address, or the error code. */
const LOOKUP = "require('dns').lookup(process.argv[1], (e, a) => console.log(e ? e.code : a))";
/** Opens a TCP connection: "connected", the error code, or "timeout" after 3 s. */
const CONNECT = `const s = require('net').connect({ host: process.argv[1], port: Number(process.argv[2]) });
s.setTimeout(3000, () => { console.log('timeout'); s.destroy(); });
s.on('connect', () => { console.log('connected'); s.destroy(); });
s.on('error', e => console.log(e.code));`;

describe("notes-two-nets on the sandbox", () => {
    before(async () => {
        await prepare(d, HOST, IMAGES);
        await d.up({});
    });

    after(() => teardown(d, HOST));

    test("notes serves through the edge and signs a user up and in through userauth, then keeps their notes", async () => {
        const anonymous = await fetchVia({ host: DOMAIN });
        assert.equal(anonymous.status, 303);
        assert.equal(anonymous.headers.location, "/signin");
        assert.equal((await fetchVia({ host: DOMAIN, path: "/signup" })).status, 200);

        const signup = await fetchVia({
            host: DOMAIN,
            path: "/signup",
            form: { username: USER, password: PASSWORD },
            headers: SAME_SITE,
            jar: new CookieJar(),
        });
        assert.equal(signup.status, 303, signup.body.slice(0, 500));
        assert.equal(
            await mariadb("db-userauth", "userauth", `SELECT username FROM users WHERE username = '${USER}'`),
            USER,
            "userauth stored the user",
        );

        const wrong = await fetchVia({
            host: DOMAIN,
            path: "/signin",
            form: { username: USER, password: "not the password" },
            headers: SAME_SITE,
        });
        assert.equal(wrong.status, 401);

        const jar = new CookieJar();
        const signin = await fetchVia({
            host: DOMAIN,
            path: "/signin",
            form: { username: USER, password: PASSWORD },
            headers: SAME_SITE,
            jar,
        });
        assert.equal(signin.status, 303);
        assert.equal(signin.headers.location, "/");
        assert.ok(jar.cookies.has("notes_session"), "signed in: a session cookie");

        const title = `e2e note ${randomBytes(4).toString("hex")}`;
        const add = await fetchVia({
            host: DOMAIN,
            path: "/notes",
            form: { title, body: "written through the edge" },
            headers: SAME_SITE,
            jar,
        });
        assert.equal(add.status, 303);
        const list = await fetchVia({ host: DOMAIN, jar });
        assert.equal(list.status, 200);
        assert.ok(list.body.includes(`<h3>${title}</h3>written through the edge`), list.body.slice(0, 1000));
        assert.equal(await mariadb("db-notes", "notes", `SELECT owner FROM notes WHERE title = '${title}'`), USER);
    });

    test("from inside notes, userauth resolves and db-userauth does not", async () => {
        const notes = await appContainer("notes");
        assert.match(await exec(notes, "getent", "hosts", "userauth"), /^\d+\.\d+\.\d+\.\d+\s+userauth/);
        assert.match(await nodeIn(notes, LOOKUP, "userauth"), /^\d+\.\d+\.\d+\.\d+$/);
        const getent = await execResult(notes, "getent", "hosts", "db-userauth");
        assert.equal(getent.code, 2, `getent hosts db-userauth in notes: ${getent.stdout}`); // 2: not found
        assert.equal(await nodeIn(notes, LOOKUP, "db-userauth"), "ENOTFOUND");
    });

    test("from inside notes, db-userauth accepts no connection, by name or by its address on authnet", async () => {
        const notes = await appContainer("notes");
        const userauth = await appContainer("userauth");
        const authnet = String((d.current.outputs.networks as Record<string, string>).authnet);
        const dbIp = await ipOn("db-userauth", authnet);
        // The controls: the same probe connects where the networks allow it.
        assert.equal(await nodeIn(notes, CONNECT, "userauth", "3000"), "connected");
        assert.equal(await nodeIn(notes, CONNECT, "db-notes", "3306"), "connected");
        assert.equal(await nodeIn(userauth, CONNECT, dbIp, "3306"), "connected");
        assert.equal(await nodeIn(notes, CONNECT, "db-userauth", "3306"), "ENOTFOUND");
        assert.match(await nodeIn(notes, CONNECT, dbIp, "3306"), /^(timeout|EHOSTUNREACH|ENETUNREACH|ECONNREFUSED)$/);
        assert.ok(!(authnet in (await inspect(notes)).NetworkSettings.Networks), "notes is not on authnet");
    });

    test("only the edge publishes host ports: in the up summary and on the engine", async () => {
        const s = d.current;
        assert.equal(s.containers.length, 5, s.containers.map(c => c.name).join(", "));
        assert.deepEqual(
            s.containers.filter(c => c.ports.length > 0).map(c => c.name),
            [EDGE],
        );
        assert.deepEqual(s.containers.find(c => c.name === EDGE)!.ports.sort(), [
            "127.0.0.1:443->443/tcp",
            "127.0.0.1:80->80/tcp",
        ]);
        for (const c of s.containers) {
            const [listed] = await containers({ name: [`^/${c.name}$`] });
            const ports = listed.Ports.filter(p => p.PublicPort)
                .map(p => `${p.IP}:${p.PublicPort}->${p.PrivatePort}/${p.Type}`)
                .sort();
            if (c.name === EDGE) assert.deepEqual(ports, ["127.0.0.1:443->443/tcp", "127.0.0.1:80->80/tcp"]);
            else assert.deepEqual(ports, [], `${c.name} publishes ${ports.join(", ")}`);
            const bindings = (await inspect(c.name)).HostConfig.PortBindings as Record<string, unknown> | null;
            if (c.name !== EDGE)
                assert.deepEqual(Object.keys(bindings ?? {}), [], `${c.name}: ${JSON.stringify(bindings)}`);
        }
    });

    test("a second up with no change changes nothing", async () => {
        const ids = (names: string[]) => Promise.all(names.map(async n => (await inspect(n)).Id));
        const before = await ids(d.current.containers.map(c => c.name));
        const s = await d.up({});
        assert.deepEqual(changes(s), []);
        assert.equal(s.resources.length, d.ups[0].summary.resources.length);
        assert.deepEqual(await ids(s.containers.map(c => c.name)), before);
    });
});
