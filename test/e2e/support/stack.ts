// Deploying an example stack for an end-to-end test file: one example at a time on this machine (a lock
// file; every local Host's edge publishes 127.0.0.1:80 and :443), engine and images ready, nothing of an
// earlier run in the way, and a record of every `up` (its summary, its log, its time). Teardown always
// leaves the engine clear for the next file, by force when `down` fails.
import * as assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { down, up, UpSummary } from "../../../sandbox";
import { prepareEngine } from "../../../sandbox/prepare";
import { statePath } from "../../../sandbox/state";
import { containers, containersWhere, engine } from "../../support/docker";
import { fetchVia } from "../../../sandbox/lib/http";
import { until } from "../../support/until";

export const REPO = resolve(__dirname, "../../..");
export const EXAMPLES = join(REPO, "examples");
/** The sandbox stack the example tests deploy (another name than a developer's `dev`). */
export const STACK = "e2e";

/**
 * The edge of every local Host publishes 127.0.0.1:80 and :443, so only one such stack can run. Waits
 * (a stack deployed by something that does not take the lock may be finishing) and fails naming the
 * containers that hold the ports.
 */
export async function edgePortsFree(seconds = 300): Promise<void> {
    const loopbackOrAny = new Set(["127.0.0.1", "0.0.0.0", "::", ""]);
    const holders = async () =>
        (await containers({ status: ["running"] }))
            .filter(c =>
                c.Ports.some(p => (p.PublicPort === 80 || p.PublicPort === 443) && loopbackOrAny.has(p.IP ?? "")),
            )
            .map(
                c =>
                    `${c.Names[0].replace(
                        /^\//,
                        "",
                    )} ${c.Ports.map(p => `${p.IP}:${p.PublicPort}->${p.PrivatePort}`).join(", ")}`,
            );
    await until(
        "ports 80 and 443 on 127.0.0.1 free for the edge",
        seconds,
        async () => (await holders()).length === 0,
        1000,
    ).catch(async e => {
        throw new Error(`${(e as Error).message}; held by: ${(await holders()).join("; ")}`);
    });
}

/** The local Host's data directory (edge config, certificates): `~/.dropyard/<host>`, as Host defaults it. */
export function hostDataDir(host: string): string {
    return join(homedir(), ".dropyard", host);
}

/**
 * Removes a host's data directory when no container of that host exists: certificates and certbot
 * accounts of an earlier run were issued by an earlier Pebble, and certbot would keep them.
 */
export async function forgetHostFiles(host: string): Promise<void> {
    const live = await containersWhere(`label=dev.dropyard.host=${host}`);
    assert.deepEqual(
        live,
        [],
        `host "${host}" still has containers (${live.join(", ")}): another stack of this example is deployed; remove it first (npm run sandbox -- down <dir>)`,
    );
    rmSync(hostDataDir(host), { recursive: true, force: true });
}

export interface Deployment {
    readonly dir: string;
    /**
     * Every `up`, in order: its summary, how long it took, and whether the site answered the moment it
     * returned (`waitedToServe`: seconds until the edge answered for the domain; 0 when at once).
     */
    readonly ups: { summary: UpSummary; seconds: number; config: Record<string, string>; waitedToServe: number }[];
    /** What the sandbox logged, for a failing test's message. */
    readonly log: string[];
    /** The last summary. */
    readonly current: UpSummary;
    up(config: Record<string, string>): Promise<UpSummary>;
    down(): Promise<void>;
    /** A command resource's recorded output (the sandbox keeps stdout in the stack's state). */
    commandStdout(name: string): string;
}

/**
 * A deployment of examples/<example> as stack STACK; `up` is called by the test. After each `up` it
 * waits (up to 10 s) until the edge answers https for `domain` (any status below 400), so tests
 * check behaviour, and `waitedToServe` records whether the site was there as soon as `up` returned.
 */
export function deployment(example: string, domain: string): Deployment {
    const dir = join(EXAMPLES, example);
    const ups: Deployment["ups"] = [];
    const log: string[] = [];
    return {
        dir,
        ups,
        log,
        get current() {
            assert.ok(ups.length > 0, "the stack was never deployed");
            return ups[ups.length - 1].summary;
        },
        async up(config) {
            const t = Date.now();
            let summary: UpSummary;
            try {
                summary = await up(dir, { stack: STACK, config, log: line => log.push(line) });
            } catch (e) {
                throw new Error(
                    `${(e as Error).message}\n--- sandbox log (last lines) ---\n${log.slice(-30).join("\n")}`,
                );
            }
            const seconds = (Date.now() - t) / 1000;
            ups.push({ summary, seconds, config, waitedToServe: await settle(domain) });
            return summary;
        },
        async down() {
            try {
                await down(dir, { stack: STACK, purge: true, log: line => log.push(line) });
            } catch (e) {
                // The failure stays this file's; the engine is cleared for the next file all the same.
                const removed = await forceTeardown(statePath(projectName(dir), STACK, dir));
                throw new Error(
                    `down failed (${(e as Error).message}); removed from the engine by force: ${removed.join(", ") || "nothing"}`,
                );
            }
        },
        commandStdout(name) {
            type Entry = { type: string; name: string; condemned?: boolean; outputs: { stdout?: string } };
            const state = JSON.parse(readFileSync(statePath(projectName(dir), STACK, dir), "utf8")) as {
                resources: Entry[];
            };
            const r = state.resources.find(x => x.type === "command:local:Command" && x.name === name && !x.condemned);
            assert.ok(r, `no command "${name}" in the stack's state`);
            return String(r.outputs.stdout ?? "");
        },
    };
}

/**
 * When `down` fails (a delete script that fails, say), removes the containers, networks and volumes a
 * stack's state records, newest first, and then the state itself. Only what the sandbox made for this
 * stack: the engine ids come from its state file. Returns what it removed.
 */
export async function forceTeardown(stateFile: string): Promise<string[]> {
    if (!existsSync(stateFile)) return [];
    const state = JSON.parse(readFileSync(stateFile, "utf8")) as { resources: StateEntry[]; retained: StateEntry[] };
    const removed: string[] = [];
    const d = engine.docker;
    const kinds: Record<string, (id: string) => Promise<unknown>> = {
        "docker:index/container:Container": id => d.getContainer(id).remove({ force: true, v: true }),
        "docker:index/network:Network": id => d.getNetwork(id).remove(),
        "docker:index/volume:Volume": id => d.getVolume(id).remove({ force: true }),
    };
    // Containers first (they hold networks and volumes), each kind newest first.
    for (const type of Object.keys(kinds)) {
        for (const r of [...state.resources, ...state.retained].reverse()) {
            if (r.type !== type || !r.engineId) continue;
            const engineId = r.engineId;
            if ("value" in (await engine.attempt(() => kinds[type](engineId)))) removed.push(`${r.name}`);
        }
    }
    rmSync(stateFile, { force: true });
    return removed;
}

interface StateEntry {
    type: string;
    name: string;
    engineId?: string;
}

/**
 * Waits (up to 10 s) until the edge has answered https for `domain` (any status below 400) ten times
 * in a row, 50 ms apart: a reload lets workers of the old and the new configuration accept side by
 * side for a moment. Returns 0 when every answer was right from the first, else the seconds it took.
 */
async function settle(domain: string): Promise<number> {
    const answers = () =>
        fetchVia({ host: domain, timeoutMs: 2000 }).then(
            r => r.status >= 200 && r.status < 400,
            () => false,
        );
    const started = Date.now();
    let inARow = 0;
    let failed = false;
    await until(
        `https://${domain}/ answering steadily after up`,
        10,
        async () => {
            if (await answers()) inARow++;
            else {
                inARow = 0;
                failed = true;
            }
            return inARow >= 10;
        },
        50,
    );
    return failed ? (Date.now() - started) / 1000 : 0;
}

function projectName(dir: string): string {
    const m = /^name:\s*(\S+)/m.exec(readFileSync(join(dir, "Pulumi.yaml"), "utf8"));
    assert.ok(m, `${dir}/Pulumi.yaml has no name`);
    return m[1];
}

const EDGE_LOCK = join(tmpdir(), "dropyard-e2e-edge.lock");
let releaseEdge: (() => void) | undefined;

/**
 * Takes the machine-wide lock the example tests hold while a stack publishes 80 and 443: two e2e runs
 * on one engine (two developers, say) then take turns instead of failing. A lock whose process is
 * gone is taken over. Released by `teardown` (or when the process exits).
 */
export async function lockEdge(seconds = 900): Promise<void> {
    if (releaseEdge) return;
    let holder = "";
    await until(
        `the e2e edge lock ${EDGE_LOCK}`,
        seconds,
        () => {
            try {
                writeFileSync(EDGE_LOCK, String(process.pid), { flag: "wx" });
                return true;
            } catch (e) {
                if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
                holder = readFileSync(EDGE_LOCK, "utf8");
                if (holder !== "" && !alive(Number(holder))) rmSync(EDGE_LOCK, { force: true }); // "": being written
                return false;
            }
        },
        1000,
    ).catch(e => {
        throw new Error(`${(e as Error).message}; held by process ${holder}`);
    });
    releaseEdge = () => {
        if (existsSync(EDGE_LOCK) && readFileSync(EDGE_LOCK, "utf8") === String(process.pid))
            rmSync(EDGE_LOCK, { force: true });
        releaseEdge = undefined;
    };
    process.once("exit", () => releaseEdge?.());
}

/** Releases the lock `lockEdge` took (teardown does); nothing when this process holds none. */
export function unlockEdge(): void {
    releaseEdge?.();
}

function alive(pid: number): boolean {
    if (!(pid > 0)) return false;
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM";
    }
}

/**
 * The start of a test file: the edge lock, the engine and images, what an interrupted run of this file
 * left removed (by force if its `down` fails), no files of an earlier host, and the edge's ports free.
 */
export async function prepare(d: Deployment, host: string, images: string[]): Promise<void> {
    await lockEdge();
    await prepareEngine(images);
    await d.down().catch(e => console.log(`leftovers of an earlier run: ${(e as Error).message}`));
    await edgePortsFree();
    await forgetHostFiles(host);
}

/**
 * The end of a test file: `down --purge` (by force if it fails), `also` (Pebble, say), the host's
 * files, and the times of the ups on the output. Every step runs; the first failure is rethrown.
 */
export async function teardown(d: Deployment, host: string, also: () => unknown = () => undefined): Promise<void> {
    if (d.ups.length) console.log(timingNote(basename(d.dir), d));
    let failure: unknown;
    for (const step of [() => d.down(), also, () => forgetHostFiles(host), unlockEdge]) {
        try {
            await step();
        } catch (e) {
            failure ??= e;
        }
    }
    if (failure) throw failure;
}

/** The actions of an up that did something: `type name: action` for every resource not "same". */
export function changes(s: UpSummary): string[] {
    return s.resources.filter(r => r.action !== "same").map(r => `${r.type} ${r.name}: ${r.action}`);
}

/** The action an up took for one resource (by its Pulumi name). */
export function actionOf(s: UpSummary, name: string): string | undefined {
    return s.resources.find(r => r.name === name)?.action;
}

/** Prints an up's timing where `node --test` shows it (as a diagnostic). */
export function timingNote(example: string, d: Deployment): string {
    return `${example}: ${d.ups.map((u, i) => `up #${i + 1} ${u.seconds.toFixed(1)} s`).join(", ")}`;
}
