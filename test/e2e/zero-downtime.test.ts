// Zero-downtime redeploys on the real engine (fixtures/zd-app, host "zd-host", edge on 127.0.0.1:18180):
// steady load from Debian's `hey` through the edge — GET with and without keep-alive, and POST — while
// the app is redeployed with a changed image, with one web container and with two. Not one request may
// fail (an error, a timeout or a 5xx). Then the failures: a replacement that fails its healthcheck, and
// a release step that fails, each fail the deploy with the container's output while the old containers
// go on serving; singleton workers never overlap. Last, the applier's delete order (fixtures/zd-order).
// Traffic goes to loopback only. Everything created is removed at the end.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ensureHey, HeyResult, startHey } from "../../bench/hey";
import { down, up, UpSummary } from "../../sandbox";
import { prepareEngine } from "../../sandbox/prepare";
import { containers, docker, events as engineEvents, inspect } from "../support/docker";
import { fetchVia } from "../../sandbox/lib/http";

const FIXTURE = join(__dirname, "fixtures", "zd-app");
const PORT = 18180;
const URL = `http://127.0.0.1:${PORT}/`;
const HOST = "zd.localhost";
const APP_LABEL = "dev.dropyard.app=zd-web";

/** The app's running containers: process type -> names (web-1, web-2 … in creation order). */
async function containersByProcess(): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = {};
    const running = await containers({ label: [APP_LABEL], status: ["running"] });
    for (const c of running.sort((a, b) => a.Created - b.Created)) {
        (out[c.Labels["dev.dropyard.process"]] ??= []).push(c.Names[0].replace(/^\//, ""));
    }
    return out;
}

/** GET / through the edge with the vhost's Host header. */
async function get(): Promise<string> {
    const r = await fetchVia({ host: HOST, scheme: "http", port: PORT });
    if (r.status !== 200) throw new Error(`GET ${URL}: ${r.status} ${r.body}`);
    return r.body.trim();
}

interface Load {
    streams: Record<string, HeyResult>;
    failed: number;
    total: number;
    report: string;
}

/**
 * Runs `during` under steady load through the edge: 30 GET/s on kept-alive connections, 30 GET/s on
 * a new connection each, 15 POST/s on a new connection each; from 2 s before until 2 s after.
 * (Any graceful nginx reload closes idle kept-alive client connections; a request sent on one at that
 * very moment sees EOF. Clients resend idempotent ones, so kept-alive GETs see nothing; a POST they do
 * not resend. That race belongs to HTTP keep-alive and every reload, not to the deploy: POSTs here use
 * their own connections, so a failed POST is a failure of the deploy path itself.)
 */
async function underLoad<T>(during: () => Promise<T>): Promise<{ load: Load; value?: T; error?: unknown }> {
    const common = { url: URL, host: HOST, seconds: 300, timeout: 10 };
    const runs = {
        "GET keep-alive": startHey({ ...common, concurrency: 2, qps: 15, keepAlive: true }),
        "GET new connections": startHey({ ...common, concurrency: 2, qps: 15, keepAlive: false }),
        "POST new connections": startHey({
            ...common,
            concurrency: 1,
            qps: 15,
            keepAlive: false,
            method: "POST",
            body: "n=1",
        }),
    };
    await sleep(2000);
    let value: T | undefined;
    let error: unknown;
    try {
        value = await during();
    } catch (e) {
        error = e;
    }
    await sleep(2000);
    const streams: Record<string, HeyResult> = {};
    for (const [k, r] of Object.entries(runs)) streams[k] = await r.stop();
    const report = Object.entries(streams)
        .map(
            ([k, r]) =>
                `${k}: ${r.total} requests, ${r.failed} failed, statuses ${JSON.stringify(r.statuses)}, errors ${JSON.stringify(r.errors)}`,
        )
        .join("\n");
    const sum = (f: (r: HeyResult) => number) => Object.values(streams).reduce((a, r) => a + f(r), 0);
    return { load: { streams, failed: sum(r => r.failed), total: sum(r => r.total), report }, value, error };
}

/** Docker's events for the app's containers between two instants: `<name> <action>` lines. */
function events(since: number, until: number): Promise<string[]> {
    return engineEvents(since, until + 1000, { label: [APP_LABEL], type: ["container"] });
}

describe("zero-downtime redeploys (fixtures/zd-app)", () => {
    const work = mkdtempSync(join(tmpdir(), "dropyard-zd-"));
    const dir = join(work, "stack");
    cpSync(FIXTURE, dir, { recursive: true });
    const base = { dataDir: join(work, "host-data"), replicas: "1" };
    const log = false as const;
    let version = 1;
    const setVersion = (v: number) => {
        version = v;
        writeFileSync(join(dir, "app", "VERSION"), `${v}\n`);
    };

    /** Redeploys with the next VERSION (a changed image) under load. */
    async function redeploy(config: Record<string, string>) {
        setVersion(version + 1);
        const since = Date.now();
        const r = await underLoad(() => up(dir, { config, log }));
        return { ...r, since, until: Date.now() };
    }

    before(async () => {
        await prepareEngine(["python:3.13-slim", "nginx:1.30"]);
        ensureHey();
        await down(dir, { purge: true, log: false });
    });
    after(async () => {
        await down(dir, { purge: true, log: false });
        rmSync(work, { recursive: true, force: true });
    });

    test("the first up serves the app through the edge on loopback", async () => {
        setVersion(1);
        const s = await up(dir, { config: base, log });
        assert.ok(
            s.containers.some(c => c.name.startsWith("zd-web-web-1-") && c.health === "healthy"),
            JSON.stringify(s.containers),
        );
        // The vhost's `nginx -s reload` returns before the new workers take over: allow it a moment.
        let body = "";
        for (let i = 0; i < 25 && !body; i++) body = await get().catch(() => sleep(200).then(() => ""));
        assert.match(body, /^version=1 host=\w+$/);
        // The edge runs dropyard's nginx.conf: 8,192 connections per worker, each worker's open-file limit raised.
        const edge = "zd-host-nginx";
        assert.match(await docker("exec", edge, "nginx", "-T"), /^\s*worker_connections 8192;$/m);
        const limits = await docker(
            "exec",
            edge,
            "sh",
            "-c",
            "for f in $(grep -l '^nginx: worker' /proc/[0-9]*/cmdline); do grep 'open files' \"${f%/cmdline}/limits\"; done",
        );
        assert.match(limits, /^Max open files\s+16384\s/m, "each worker raised its open-file limit");
    });

    test("one web container: a redeploy under load drops no request; the new one is healthy before the old one is stopped", async () => {
        const before = await containersByProcess();
        const r = await redeploy(base);
        assert.equal(r.error, undefined, String(r.error));
        assert.equal(r.load.failed, 0, r.load.report);
        assert.ok(r.load.total >= 300, r.load.report);
        assert.match(await get(), /^version=2 /);

        const after = await containersByProcess();
        const e = await events(r.since, r.until);
        const at = (line: string) => e.indexOf(line);
        const [oldWeb, newWeb] = [before.web[0], after.web[0]];
        assert.notEqual(oldWeb, newWeb);
        const stopped = e.findIndex(l => l === `${oldWeb} kill` || l === `${oldWeb} die`);
        assert.ok(
            at(`${newWeb} health_status: healthy`) >= 0 && stopped > at(`${newWeb} health_status: healthy`),
            e.join("\n"),
        );
        // The singleton clock: the old one is gone before the new one starts. The plain worker overlaps.
        const [oldClock, newClock] = [before.clock[0], after.clock[0]];
        assert.ok(at(`${oldClock} destroy`) >= 0 && at(`${oldClock} destroy`) < at(`${newClock} start`), e.join("\n"));
        const [oldWorker, newWorker] = [before.worker[0], after.worker[0]];
        assert.ok(
            at(`${newWorker} start`) >= 0 &&
                at(`${newWorker} start`) < e.findIndex(l => l === `${oldWorker} kill` || l === `${oldWorker} die`),
            e.join("\n"),
        );
    });

    test("a second up with no change changes nothing (the deploy step does not run)", async () => {
        const s = await up(dir, { config: base, log });
        assert.deepEqual(
            s.resources.filter(r => r.action !== "same"),
            [],
        );
    });

    test("two web containers: a redeploy under load drops no request, and both new containers serve", async () => {
        const two = { ...base, replicas: "2" };
        const scaled: UpSummary = await up(dir, { config: two, log });
        assert.deepEqual(
            scaled.resources
                .filter(r => r.action !== "same")
                .map(r => `${r.name}:${r.action}`)
                .sort(),
            ["zd-web-deploy:update", "zd-web-web-2:create"],
        );
        const r = await redeploy(two);
        assert.equal(r.error, undefined, String(r.error));
        assert.equal(r.load.failed, 0, r.load.report);
        assert.ok(r.load.total >= 300, r.load.report);
        // Both containers of the new generation answer through the edge, each a server of the App's group.
        const hosts = new Set<string>();
        for (let i = 0; i < 120 && hosts.size < 2; i++) {
            const body = await get();
            assert.match(body, /^version=3 /);
            hosts.add(body.split("host=")[1]);
            await sleep(500);
        }
        assert.equal(hosts.size, 2);
    });

    test("a replacement that fails its healthcheck fails the deploy with its healthcheck output and logs; the old ones serve throughout", async () => {
        const two = { ...base, replicas: "2" };
        const before = await containersByProcess();
        const r = await redeploy({ ...two, broken: "true" });
        assert.equal(r.load.failed, 0, r.load.report);
        const message = r.error instanceof Error ? r.error.message : String(r.error);
        assert.match(
            message,
            /^command:local:Command "zd-web-deploy": create script failed \(exit 1\); fix the create script\n--- its stderr \(last lines\) ---\nweb container (zd-web-web-1-[0-9a-f]{7}) is unhealthy; the previous containers keep serving\n--- last healthcheck output ---\nhealthz answered 500: broken on purpose\n--- last 10 log lines of \1 ---\n/,
        );
        assert.match(message, /"GET \/healthz HTTP\/1\.1" 500/);
        assert.match(await get(), /^version=3 /, "the edge still sends requests to the previous containers");
        const now = await containersByProcess();
        for (const c of [...before.web, ...before.clock, ...before.worker]) {
            assert.equal((await inspect(c)).State.Status, "running", `${c} was stopped`);
        }
        assert.deepEqual(now.clock, before.clock, "workers change over only after the web containers pass");

        // The next good deploy replaces the failed generation, again without dropping a request.
        const fixed = await redeploy(two);
        assert.equal(fixed.error, undefined, String(fixed.error));
        assert.equal(fixed.load.failed, 0, fixed.load.report);
        assert.match(await get(), /^version=5 /);
        assert.equal((await containersByProcess()).web.length, 2, "the failed and the old generations are gone");
    });

    test("a failing release fails the deploy with its output; the web containers and the singleton clock keep running", async () => {
        const two = { ...base, replicas: "2" };
        const before = await containersByProcess();
        const r = await redeploy({ ...two, releaseFail: "true" });
        assert.equal(r.load.failed, 0, r.load.report);
        assert.ok(r.error instanceof Error);
        const lines = r.error.message.split("\n");
        assert.deepEqual(
            lines.slice(0, 4),
            [
                'command:local:Command "zd-web-release": create script failed (exit 1); fix the create script',
                "--- its stderr (last lines) ---",
                "release command failed: python3 release.py",
                "--- last lines of its output ---",
            ],
            r.error.message,
        );
        // The container's stdout and stderr reach the log through separate streams, so their order varies.
        assert.deepEqual(
            lines.slice(4).sort(),
            [
                `release: migrating to version ${version}`,
                "release: simulated migration failure (RELEASE_FAIL is set)",
            ].sort(),
            r.error.message,
        );
        assert.deepEqual(await containersByProcess(), before, "not one container changed");
        assert.match(await get(), /^version=5 /);
    });
});

describe("the sandbox deletes dependents first (fixtures/zd-order)", () => {
    const work = mkdtempSync(join(tmpdir(), "dropyard-zd-order-"));
    const dir = join(work, "stack");
    cpSync(join(__dirname, "fixtures", "zd-order"), dir, { recursive: true });
    const deletes = join(work, "deletes");
    after(() => rmSync(work, { recursive: true, force: true }));

    test("b depends on a; after a was replaced (so b is now the older), down still deletes b before a", async () => {
        await up(dir, { config: { log: deletes, generation: "1" }, log: false });
        const replaced = await up(dir, { config: { log: deletes, generation: "2" }, log: false });
        assert.deepEqual(
            replaced.resources.filter(r => r.action !== "same").map(r => `${r.name}:${r.action}`),
            ["a:replace"],
        );
        assert.equal(readFileSync(deletes, "utf8"), "a\n", "the replaced a went at the end of the run");
        await down(dir, { log: false });
        assert.equal(readFileSync(deletes, "utf8"), "a\nb\na\n");
        assert.equal(existsSync(deletes), true);
    });
});
