// One host, many stacks: examples/flask-staging-production's infra stack owns the host and its edge; the
// app project is deployed as staging and production onto it (Host.fromStack through a StackReference
// the sandbox resolves from the infra stack's saved state). Checked from outside: both serve by name over
// https through the one edge, each with its own database, each worker writing on schedule; a third stack
// claiming production's domain fails before changing anything; taking staging down leaves production
// serving, with no failed request under load meanwhile. Traffic goes to loopback and into the stacks'
// own containers.
import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { down, up } from "../../sandbox";
import { prepareEngine } from "../../sandbox/prepare";
import type { PsResult } from "../../lib/cli/commands";
import { main } from "../../lib/cli/main";
import { readStackState } from "../../lib/cli/state";
import { exportStack } from "../../sandbox/export";
import { containersWhere, docker, psql } from "../support/docker";
import { fetchVia } from "../../sandbox/lib/http";
import { until } from "../support/until";
import { dropyardIn } from "./support/dropyard";
import { EXAMPLES, edgePortsFree, forgetHostFiles, hostDataDir, lockEdge, unlockEdge } from "./support/stack";

const HOST = "flask-host";
const INFRA = join(EXAMPLES, "flask-staging-production", "infra");
const APP = join(EXAMPLES, "flask-staging-production", "app");
const DOMAIN = { staging: "staging.notes.localhost", production: "notes.localhost" } as const;
const log: string[] = [];
const quiet = {
    log: (l: string) => {
        log.push(l);
    },
};

async function page(env: keyof typeof DOMAIN): Promise<{ environment: string; notes: string[]; ticks: number }> {
    const r = await fetchVia({ host: DOMAIN[env] });
    assert.equal(r.status, 200, r.body.slice(0, 300));
    return JSON.parse(r.body);
}

/** Edge containers of this host, and any an app stack made (other tests' hosts may have theirs). */
async function edges(): Promise<{ infra: string[]; apps: string[] }> {
    return {
        infra: await containersWhere("label=dev.dropyard.role=edge", `label=dev.dropyard.host=${HOST}`),
        apps: await containersWhere("label=dev.dropyard.role=edge", "label=dev.dropyard.project=flask-notes"),
    };
}

/**
 * `dropyard ps --json` on a stack's state, in this process: the command's code from the state on, without
 * the two program starts (~15 s here) the spawned command costs; the test runs that once, for the table.
 */
async function psOf(dir: string, stack: string): Promise<{ r: PsResult; text: string }> {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let text = "";
    for (const s of [stdout, stderr])
        s.on("data", d => {
            text += d;
        });
    const io = { stdin: new PassThrough(), stdout, stderr };
    const code = await main(["ps", "--json"], io, readStackState(exportStack(dir, { stack }), `sandbox ${stack}`));
    assert.equal(code, 0, text);
    return { r: JSON.parse(text) as PsResult, text };
}

/** Each other stack's apps with their containers' process types and health: `stack app process:health ...`. */
const others = (r: PsResult) =>
    r.otherStacks?.map(o =>
        [o.stack, ...o.apps.map(a => `${a.name} ${a.containers.map(c => `${c.process}:${c.health}`).join(" ")}`)].join(
            " ",
        ),
    );

async function downAll(): Promise<void> {
    for (const stack of ["intruder", "staging", "production"]) await down(APP, { stack, purge: true, ...quiet });
    await down(INFRA, { stack: "main", purge: true, ...quiet });
}

before(async () => {
    await lockEdge();
    // The python recipe changed with this test (pip from the package index): rebuild a stale stand-in.
    await prepareEngine(["python:3.13-slim"], { rebuildStale: true });
    await prepareEngine(["nginx:1.30", "postgres:17"]);
    await downAll().catch(e => console.log(`leftovers of an earlier run: ${(e as Error).message}`));
    await edgePortsFree();
    await forgetHostFiles(HOST);
    const t = Date.now();
    await up(INFRA, { stack: "main", ...quiet });
    const infra = (Date.now() - t) / 1000;
    const staging = await up(APP, { stack: "staging", ...quiet });
    const production = await up(APP, { stack: "production", ...quiet });
    console.log(
        `up: infra ${infra.toFixed(1)} s, staging ${staging.timings.seconds.toFixed(1)} s, production ${production.timings.seconds.toFixed(1)} s`,
    );
});

after(async () => {
    try {
        await downAll();
        await forgetHostFiles(HOST);
    } finally {
        unlockEdge();
    }
});

test("staging and production serve by name over https through the one edge, each with its own database", async () => {
    assert.equal((await page("staging")).environment, "staging");
    assert.equal((await page("production")).environment, "production");
    // One edge: the infra stack's; the app stacks made none.
    assert.deepEqual(await edges(), { infra: [`${HOST}-nginx`], apps: [] });

    const note = `written in staging ${Date.now()}`;
    const r = await fetchVia({ host: DOMAIN.staging, path: "/notes", form: { body: note } });
    assert.equal(r.status, 201, r.body);
    assert.ok((await page("staging")).notes.includes(note));
    assert.ok(!(await page("production")).notes.includes(note), "the row written in staging is not in production");
    assert.equal(
        await psql("notes-production-db", "app", "notes", `SELECT count(*) FROM notes WHERE body = '${note}'`),
        "0",
    );
    assert.equal(
        await psql("notes-staging-db", "app", "notes", `SELECT count(*) FROM notes WHERE body = '${note}'`),
        "1",
    );
});

test("dropyard ps in the host's stack lists every stack's apps on the host; in an app stack only its own", async () => {
    const want = [
        "flask-notes/production notes-production web:healthy worker:running",
        "flask-notes/staging notes-staging web:healthy worker:running",
    ];
    // ps shows Docker's health: a web container the deploy step probed healthy may still be "starting" in Docker's
    // eyes until its first scheduled check, a few seconds after the up.
    let host = await psOf(INFRA, "main");
    await until("both stacks' web containers healthy in ps", 30, async () => {
        host = await psOf(INFRA, "main");
        return JSON.stringify(others(host.r)) === JSON.stringify(want);
    }).catch(() => undefined);
    assert.deepEqual(host.r.apps, [], "the infra stack runs no app of its own");
    assert.deepEqual(others(host.r), want);
    for (const o of host.r.otherStacks ?? [])
        for (const c of o.apps.flatMap(a => a.containers)) assert.match(c.image, /^sha256:[0-9a-f]{64}$/);
    // As a user runs it, in the host stack's directory: the state from the (stand-in) Pulumi CLI.
    const t = Date.now();
    const table = await dropyardIn(INFRA, ["ps", "--stack", "main"]);
    console.log(`dropyard ps in the infra stack: ${Date.now() - t} ms`);
    assert.equal(table.status, 0, table.stderr);
    assert.match(
        table.stdout,
        new RegExp(`^other stacks on host ${HOST}\nSTACK +APP +PROCESS +CONTAINER +HEALTH +IMAGE +RESTARTS +UP\n`, "m"),
    );
    assert.match(table.stdout, /^flask-notes\/staging +notes-staging +web +notes-staging-web-1-\S+ +healthy /m);

    const production = await psOf(APP, "production");
    assert.deepEqual(
        production.r.apps.map(a => a.name),
        ["notes-production"],
    );
    assert.equal(production.r.otherStacks, undefined, "an app stack does not list the others");
    // No secret value on any output: the apps' SECRET_KEY and DATABASE_URL as the containers have them.
    const secrets: string[] = [];
    for (const env of ["staging", "production"]) {
        const [web] = await containersWhere(`label=dev.dropyard.app=notes-${env}`, "label=dev.dropyard.process=web");
        const vars = (await docker("inspect", "-f", "{{range .Config.Env}}{{println .}}{{end}}", web)).split("\n");
        for (const v of vars.filter(x => /^(SECRET_KEY|DATABASE_URL)=/.test(x)))
            secrets.push(v.slice(v.indexOf("=") + 1));
    }
    assert.equal(secrets.length, 4);
    for (const out of [host.text, table.stdout, production.text])
        for (const secret of secrets) assert.ok(!out.includes(secret), "a secret value in dropyard ps");
});

test("the worker of each stack writes to its own database on schedule", async () => {
    for (const env of ["staging", "production"] as const) {
        const before = (await page(env)).ticks;
        await until(`two more ticks in ${env}`, 30, async () => (await page(env)).ticks >= before + 2, 500);
    }
});

test("a third stack claiming production's domain fails before changing anything, naming the owner", async () => {
    await assert.rejects(
        up(APP, { stack: "intruder", config: { domain: DOMAIN.production }, ...quiet }),
        (e: Error) => {
            assert.match(
                e.message,
                /domain notes\.localhost is served by .*vhost-notes-production\.conf of stack flask-notes\/production/,
            );
            assert.match(e.message, /stack flask-notes\/intruder would take over what another stack owns on this host/);
            return true;
        },
    );
    assert.deepEqual(await containersWhere("label=dev.dropyard.stack=intruder"), [], "no container of the intruder");
    const conf = join(hostDataDir(HOST), "nginx", "conf.d");
    assert.deepEqual(
        readdirSync(conf).filter(f => f.includes("intruder")),
        [],
        "no edge file of the intruder",
    );
    assert.equal((await page("production")).environment, "production");
    await down(APP, { stack: "intruder", purge: true, ...quiet });
});

test("down of staging leaves production serving, with no failed request while staging is removed", async () => {
    const conf = join(hostDataDir(HOST), "nginx", "conf.d");
    assert.ok(existsSync(join(conf, "vhost-notes-staging.conf")));
    let ok = 0;
    const failures: string[] = [];
    let stop = false;
    const load = async () => {
        while (!stop) {
            try {
                const r = await fetchVia({ host: DOMAIN.production, timeoutMs: 5000 });
                if (r.status === 200) ok++;
                else failures.push(`status ${r.status}`);
            } catch (e) {
                failures.push((e as Error).message);
            }
        }
    };
    const loaders = [load(), load()];
    const t = Date.now();
    await down(APP, { stack: "staging", purge: true, ...quiet });
    const seconds = (Date.now() - t) / 1000;
    stop = true;
    await Promise.all(loaders);
    console.log(
        `down of staging: ${seconds.toFixed(1)} s; production answered ${ok} requests meanwhile, ${failures.length} failed`,
    );
    assert.deepEqual(failures, []);
    assert.ok(ok > 10, `only ${ok} requests during the removal`);
    assert.deepEqual(await containersWhere("label=dev.dropyard.stack=staging"), []);
    assert.deepEqual(
        readdirSync(conf).filter(f => f.includes("staging")),
        [],
        "staging's vhost and upstream files are gone",
    );
    // The edge's default server refuses names no vhost claims (TLS alert unrecognized_name).
    const gone = await fetchVia({ host: DOMAIN.staging }).then(
        r => `status ${r.status}`,
        (e: Error) => e.message,
    );
    assert.match(gone, /unrecognized name|status 4\d\d/, "staging is no longer served");
    assert.equal((await page("production")).environment, "production");
    assert.deepEqual(await edges(), { infra: [`${HOST}-nginx`], apps: [] }, "the edge stays");
    assert.deepEqual(others((await psOf(INFRA, "main")).r), [
        "flask-notes/production notes-production web:healthy worker:running",
    ]);
});
