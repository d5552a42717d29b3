// examples/django-postgres deployed on the local engine by the sandbox, with its certificate from Pebble
// (through real certbot and the edge's webroot), then checked from outside: https through the edge by
// name, the counter in Postgres, the release step, an unchanged second up, data surviving replaced app
// and database containers, and every container back after a crash. Traffic goes to loopback, to the
// docker0 gateway (Pebble) and into the stack's own containers (docker exec).
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { connect as tlsConnect, DetailedPeerCertificate } from "node:tls";
import { startPebble, Pebble } from "../support/acme";
import { crash, docker, inspect, psql, restartState, theContainer } from "../../support/docker";
import { CookieJar, fetchVia } from "../../../sandbox/lib/http";
import { until } from "../../support/until";
import { actionOf, changes, deployment, prepare, teardown } from "../support/stack";

const HOST = "counter-host";
const DOMAIN = "counter.localhost";
const DB = "counter-db";
const EDGE = `${HOST}-nginx`;
const IMAGES = [
    "postgres:17",
    "nginx:1.30",
    "python:3.13-slim",
    "certbot/certbot:v4.0.0",
    "dropyard-sandbox/pebble:2.6",
];

const d = deployment("django-postgres", DOMAIN);
let pebble: Pebble | undefined;
let root = "";
let config: Record<string, string> = {};

/** The one web container of the counter app (its name carries a hash that changes with each replacement). */
function webContainer(): Promise<string> {
    return theContainer("label=dev.dropyard.app=counter", "label=dev.dropyard.process=web");
}

async function containerId(name: string): Promise<string> {
    return (await inspect(name)).Id;
}

/** The counter as Postgres itself holds it (0 before the first click: the row does not exist yet). */
async function countInPostgres(): Promise<number> {
    return Number(
        await psql(
            DB,
            "app",
            "counter",
            "SELECT COALESCE((SELECT value FROM counter_counter WHERE name = 'clicks'), 0)",
        ),
    );
}

/** The counter page through the edge, certificate checked against Pebble's root; returns the value shown. */
async function countOnPage(jar?: CookieJar): Promise<{ value: number; csrf: string }> {
    const r = await fetchVia({ host: DOMAIN, ca: root, jar });
    assert.equal(r.status, 200, r.body.slice(0, 500));
    const value = /<output id="value">(\d+)<\/output>/.exec(r.body);
    const csrf = /name="csrfmiddlewaretoken" value="([^"]+)"/.exec(r.body);
    assert.ok(value && csrf, `not the counter page: ${r.body.slice(0, 500)}`);
    return { value: Number(value[1]), csrf: csrf[1] };
}

/** Crashes a container (SIGKILL of its main process) and returns the seconds until `serving` holds again. */
async function secondsToRecover(container: string, serving: () => Promise<boolean> | boolean): Promise<number> {
    const before = (await restartState(container)).restarts;
    const started = Date.now();
    await crash(container);
    await until(
        `${container} restarted by the engine and serving`,
        60,
        async () => (await restartState(container)).restarts > before && (await serving()),
        100,
    );
    return (Date.now() - started) / 1000;
}

const pageAnswers = async () => (await fetchVia({ host: DOMAIN, ca: root, timeoutMs: 2000 })).status === 200;

describe("django-postgres on the sandbox, certificate from Pebble", () => {
    before(async () => {
        await prepare(d, HOST, IMAGES);
        pebble = await startPebble();
        config = { ...pebble.config };
        await d.up(config);
        root = await pebble.root();
    });

    after(() => teardown(d, HOST, () => pebble?.stop()));

    test("the counter answers through the edge by Host header over https, with a certificate Pebble issued", async () => {
        const r = await fetchVia({ host: DOMAIN, ca: root }); // rejects unless the chain leads to Pebble's root
        assert.equal(r.status, 200);
        assert.match(r.body, /<h1>Counter<\/h1>/);
        const leaf = new X509Certificate(r.certificate!.raw);
        assert.match(leaf.subjectAltName ?? "", new RegExp(`DNS:${DOMAIN.replace(".", "\\.")}`));
        // The chain ends at the root Pebble generated on this start, not at the CA minted for Pebble's listener.
        let top: DetailedPeerCertificate = r.certificate!;
        while (top.issuerCertificate && top.issuerCertificate !== top) top = top.issuerCertificate;
        assert.equal(new X509Certificate(top.raw).fingerprint256, new X509Certificate(root).fingerprint256);
        await assert.rejects(fetchVia({ host: DOMAIN, ca: pebble!.listenerCa }), /certificate/i);
    });

    test("the edge's configuration passes nginx -t without a warning, and it offers HTTP/2 over TLS", async () => {
        const check = await docker("exec", EDGE, "sh", "-c", "nginx -t 2>&1");
        assert.match(check, /test is successful/);
        assert.doesNotMatch(check, /\[(warn|emerg|alert|crit)\]/, check);
        const alpn = await new Promise<string | false | null>((resolve, reject) => {
            const s = tlsConnect({
                host: "127.0.0.1",
                port: 443,
                servername: DOMAIN,
                ca: root,
                ALPNProtocols: ["h2", "http/1.1"],
            });
            s.on("secureConnect", () => {
                resolve(s.alpnProtocol);
                s.end();
            }).on("error", reject);
        });
        assert.equal(alpn, "h2");
    });

    test("http answers 301 to the same URL over https", async () => {
        const r = await fetchVia({ host: DOMAIN, scheme: "http", path: "/?x=1" });
        assert.equal(r.status, 301);
        assert.equal(r.headers.location, `https://${DOMAIN}/?x=1`);
    });

    test("a POST with the CSRF token and cookie increments the count, and Postgres holds the new value", async () => {
        const jar = new CookieJar();
        const page = await countOnPage(jar);
        const before = await countInPostgres();
        assert.equal(page.value, before);
        assert.ok(jar.cookies.has("csrftoken"), "Django set its CSRF cookie");
        const post = await fetchVia({
            host: DOMAIN,
            ca: root,
            jar,
            form: { csrfmiddlewaretoken: page.csrf },
            headers: { origin: `https://${DOMAIN}`, referer: `https://${DOMAIN}/` },
        });
        assert.equal(post.status, 302, post.body.slice(0, 500));
        assert.equal(post.headers.location, "/");
        assert.equal(await countInPostgres(), before + 1);
        assert.equal((await countOnPage()).value, before + 1);
    });

    test("a POST without the CSRF token is refused and counts nothing", async () => {
        const before = await countInPostgres();
        const post = await fetchVia({ host: DOMAIN, ca: root, form: {}, headers: { origin: `https://${DOMAIN}` } });
        assert.equal(post.status, 403);
        assert.equal(await countInPostgres(), before);
    });

    test("the release step ran the migrations, before the web container started", async () => {
        const applied = await psql(
            DB,
            "app",
            "counter",
            "SELECT to_char(applied AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM django_migrations WHERE app = 'counter' AND name = '0001_initial'",
        );
        assert.match(applied, /^\d{4}-/, "django_migrations has counter's 0001_initial");
        // The release command's output, as the sandbox recorded it: migrate applied the migration there.
        assert.match(d.commandStdout("counter-release"), /Applying counter\.0001_initial\.\.\. OK/);
        const webStarted = (await inspect(await webContainer())).State.StartedAt;
        assert.ok(Date.parse(applied) < Date.parse(webStarted), `migrated ${applied}, web started ${webStarted}`);
    });

    test("a second up with no change changes nothing", async () => {
        const web = await containerId(await webContainer());
        const s = await d.up(config);
        assert.deepEqual(changes(s), []);
        assert.equal(s.resources.length, d.ups[0].summary.resources.length);
        assert.equal(await containerId(await webContainer()), web);
    });

    test("rows survive replacing the app container (a changed SECRET_KEY)", async () => {
        const value = await countInPostgres();
        assert.ok(value > 0);
        const old = await containerId(await webContainer());
        config = { ...config, secretKey: "e2e-secret-key-that-replaces-the-generated-one-0123" };
        const s = await d.up(config);
        assert.equal(actionOf(s, "counter-web-1"), "replace");
        assert.notEqual(await containerId(await webContainer()), old);
        assert.equal(await countInPostgres(), value);
        assert.equal((await countOnPage()).value, value);
    });

    test("rows survive replacing the database container with the same major (a changed dbShmSize)", async () => {
        const value = await countInPostgres();
        const old = await containerId(DB);
        config = { ...config, dbShmSize: "512" };
        const s = await d.up(config);
        assert.equal(actionOf(s, "counter-db-container"), "replace");
        assert.notEqual(await containerId(DB), old);
        assert.equal((await inspect(DB)).HostConfig.ShmSize, 512 * 1024 * 1024);
        assert.match(await psql(DB, "app", "counter", "SHOW server_version"), /^17\./);
        assert.equal(await countInPostgres(), value);
        assert.equal((await countOnPage()).value, value);
    });

    test("after every up, the site answers as soon as up returns (the edge's reload has taken effect)", () => {
        assert.ok(d.ups.length >= 4);
        assert.deepEqual(
            d.ups.map(u => u.waitedToServe),
            d.ups.map(() => 0),
            "seconds each up's site took to answer after up returned",
        );
    });

    test("the app is back and serving within 10 s of a crash (SIGKILL of its main process)", async () => {
        const web = await webContainer();
        const seconds = await secondsToRecover(web, pageAnswers);
        assert.ok(seconds <= 10, `${web} served again after ${seconds} s`);
        console.log(`django-postgres: app serving again ${seconds.toFixed(1)} s after the crash`);
    });

    test("the database is back and answering queries within 10 s of a crash", async () => {
        const seconds = await secondsToRecover(DB, async () => (await psql(DB, "app", "counter", "SELECT 1")) === "1");
        assert.ok(seconds <= 10, `${DB} answered again after ${seconds} s`);
        console.log(`django-postgres: database answering again ${seconds.toFixed(1)} s after the crash`);
        await until("the counter page after the database came back", 20, pageAnswers);
    });

    test("the edge is back and serving within 10 s of a crash", async () => {
        const seconds = await secondsToRecover(EDGE, pageAnswers);
        assert.ok(seconds <= 10, `${EDGE} served again after ${seconds} s`);
        console.log(`django-postgres: edge serving again ${seconds.toFixed(1)} s after the crash`);
    });
});
