// npm run bench: dropyard's numbers beside the ways one would otherwise deploy, measured on the sandbox
// (the local Docker engine). Prints one `name=value` per line on standard output (progress on standard
// error), writes every figure to bench/results/<date>.json and the redeploy chart to
// bench/results/<date>-redeploy.svg. Sections (BENCH_SECTIONS=examples,redeploy,edge,machine,backup; all by default;
// BENCH_METHODS=dropyard,compose,stop-start,floor picks the redeploy's methods):
//
//   examples   eval_ms_<example>, cold_up_seconds_<example>, warm_up_seconds_<example>, noop_up_changes_<example>
//   redeploy   the app's saturation throughput through the edge in the load's own mix, then a redeploy under
//              load at 80% of it,
//              by dropyard, docker-compose, stop-then-start (and Kamal's proxy when it builds): requests,
//              failures (connection errors and 5xx), p50/p99 steady and during the deploy, and where the
//              deploy's wall time went (bench/phases.ts); beside them the floor, the release and a new
//              container's boot by plain docker commands with no switch, what any zero-downtime deploy pays
//   edge       the edge's own cost against a fast static upstream: throughput ratio edge/direct, added
//              latency, new TLS 1.3 connections/s against the same nginx with TLS and no dropyard config
//   machine    the droplet path on a sandbox machine (DigitalOcean's API alone simulated): cold `up` and its parts,
//              a no-op `up`, a redeploy after a config change and after a code change (bench/machine.ts)
//   backup     backup and restore throughput of a Postgres of BENCH_BACKUP_MB against plain pg_dump (bench/backup.ts)
//
// It deploys django-postgres, whose container names and ports (80/443) are fixed: it first waits (bounded
// by BENCH_WAIT_SECONDS, default 1800) until no other example container is on the engine.
import { execFileSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { parseProcfile } from "../lib/render/procfile";
import { evaluate } from "../sandbox/harness";
import { fetchVia } from "../sandbox/lib/http";
import { down, up } from "../sandbox";
import { prepareEngine } from "../sandbox/prepare";
import { benchBackup } from "./backup";
import { renderRedeployChart } from "./chart";
import { groupEngine, joinClientGroup } from "./cpu";
import { CpuParts } from "./deploy-cpu";
import { edgeOverhead } from "./edge";
import { benchMachine } from "./machine";
import { runHey } from "./hey";
import {
    composeMethod,
    dropyardMethod,
    floorMethod,
    measure,
    Method,
    MethodResult,
    startLoad,
    stopStartMethod,
    Target,
} from "./redeploy";
import { renderLatest, replaceLatest, Results } from "./results";
import { answeredSteadily, searchSaturation, STEADY_P99_MS } from "./saturation";
import { VEGETA_VERSION } from "./vegeta";
import { Figures, median, medianFigures, windowFigures } from "./stats";
import {
    addGenerationVariable,
    addressOn,
    BENCH_DIR,
    containerNamed,
    copyExample,
    Example,
    EXAMPLES,
    REPO,
    waitForExamplesGone,
} from "./stacks";

const DJANGO_HOST = "counter.localhost";
const RESULTS_DIR = join(REPO, "bench", "results");

const progress = (line: string) => process.stderr.write(`bench: ${line}\n`);
const results = new Results({
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? "unknown",
    memoryGb: Math.round(totalmem() / 2 ** 30),
});

const SECTIONS = ["examples", "redeploy", "edge", "machine", "backup"];
const wanted = new Set((process.env.BENCH_SECTIONS ?? SECTIONS.join(",")).split(",").map(s => s.trim()));

function versionOf(cmd: string, args: string[]): string {
    try {
        return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
            .trim()
            .split("\n")[0];
    } catch {
        return "missing";
    }
}

async function prepare(): Promise<void> {
    const images = [
        "postgres:17",
        "mariadb:11",
        "nginx:1.30",
        "wordpress:6.8-php8.4-apache",
        "python:3.13-slim",
        "node:20-slim",
        "restic/restic:0.18.0",
        // The droplet's section: certbot on the machine, Pebble, the machine and the registry it pulls through.
        ...(wanted.has("machine")
            ? [
                  "certbot/certbot:v4.0.0",
                  "dropyard-sandbox/pebble:2.6",
                  "dropyard-sandbox/machine:trixie",
                  "dropyard-sandbox/registry:2.8",
              ]
            : []),
    ];
    await prepareEngine(images, { rebuildStale: true, stdio: ["ignore", 2, 2] });
    execFileSync("bash", [join(REPO, "bench", "tools.sh")], {
        stdio: ["ignore", 2, 2],
        env: { ...process.env, VEGETA_VERSION },
    });
    results.version("docker", versionOf("docker", ["version", "--format", "{{.Server.Version}}"]));
    results.version("docker_compose", versionOf("docker-compose", ["version", "--short"]));
    results.version("vegeta", VEGETA_VERSION); // `go install` leaves the binary's -version empty
    results.version("hey", versionOf("dpkg-query", ["-W", "-f", "${Version}", "hey"]));
    results.version("kamal_proxy", versionOf("/usr/local/bin/kamal-proxy", ["version"]));
    results.version("node", process.version);
}

/** The example's program under the shared mocks, as the unit tests run it: the median of 5 runs in ms. */
async function evalMs(name: Example): Promise<number> {
    const entry = join(REPO, "examples", name, "index.ts");
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
        delete require.cache[require.resolve(entry)];
        const t = process.hrtime.bigint();
        await evaluate(() => require(entry), { project: name });
        if (i > 0) times.push(Number(process.hrtime.bigint() - t) / 1e6); // the first run also loads the modules
    }
    return median(times);
}

/** Cold and warm `up` of a private copy; leaves it deployed and returns its directory. */
async function upTwice(
    name: Example,
    config: Record<string, string> = {},
    edit?: (dir: string) => void,
): Promise<string> {
    const put = results.section("examples", "");
    const dir = copyExample(name);
    edit?.(dir);
    progress(`${name}: cold up`);
    let t = Date.now();
    await up(dir, { log: false, config });
    put(`cold_up_seconds_${name}`, (Date.now() - t) / 1000);
    progress(`${name}: warm up`);
    t = Date.now();
    const summary = await up(dir, { log: false, config });
    put(`warm_up_seconds_${name}`, (Date.now() - t) / 1000);
    put(`noop_up_changes_${name}`, summary.resources.filter(r => r.action !== "same").length);
    return dir;
}

/**
 * Requests/s through the edge at full speed with hey's closed loop: 14 kept-alive connections and 2 that open a new
 * one per request (6 s). Where the search in the load's own mix starts.
 */
async function heySaturation(edgeIp: string): Promise<number> {
    const common = { url: `https://${edgeIp}/`, host: DJANGO_HOST, compression: false, seconds: 6, timeout: 10 };
    const runs = await Promise.all([
        runHey({ ...common, concurrency: 14, keepAlive: true }),
        runHey({ ...common, concurrency: 2, keepAlive: false }),
    ]);
    const failed = runs.reduce((a, r) => a + r.failed, 0);
    if (failed > 0)
        throw new Error(`saturation run had ${failed} failed requests: ${JSON.stringify(runs.map(r => r.errors))}`);
    return runs.reduce((a, r) => a + r.rps, 0);
}

/** Whether the load's own mix (startLoad) at `rate` is answered steadily for 8 s (bench/saturation.ts). */
async function steadyAt(target: Target, rate: number): Promise<boolean> {
    const attacks = startLoad(target, rate, 8);
    await sleep(8500);
    const samples = (await Promise.all(attacks.map(a => a.stop()))).flat();
    const f = windowFigures(samples);
    const steady = answeredSteadily(samples);
    progress(
        `saturation run at ${rate} req/s: p50 ${f.p50Ms.toFixed(0)} ms, p99 ${f.p99Ms.toFixed(0)} ms, ` +
            `${f.failedConnection + f.failed5xx} failed: ${steady ? "steady" : "not steady"}`,
    );
    await settle(target);
    return steady;
}

/**
 * Waits (30 s at most) until the app answers three requests in a row within 100 ms each: the queue an overloaded
 * run left is gone. Requests a generator gave up on still wait in the app's listen backlog, and are answered first.
 */
async function settle(target: Target): Promise<void> {
    const started = Date.now();
    let fast = 0;
    while (fast < 3 && Date.now() - started < 30_000) {
        const t = Date.now();
        const r = await fetchVia({ host: target.host, address: target.edgeIp, timeoutMs: 10_000 }).catch(() => null);
        fast = r?.status === 200 && Date.now() - t < 100 ? fast + 1 : 0;
        await sleep(200);
    }
    progress(`settled in ${((Date.now() - started) / 1000).toFixed(1)} s${fast < 3 ? " (gave up)" : ""}`);
}

/** django-postgres's App, edge and network, as the redeploy and edge sections use them. */
async function djangoTarget(): Promise<Target> {
    const edgeIp = await addressOn("counter-host-nginx", "counter-host-edge");
    return {
        app: "counter",
        host: DJANGO_HOST,
        edge: "counter-host-nginx",
        network: "counter-host-edge",
        port: 8000,
        edgeIp,
        dir: join(BENCH_DIR, "scratch"),
    };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** The four most frequent kinds of a count, for a note: `12 × HTTP 502; 3 × ...`. */
function topKinds(kinds: readonly [string, number][]): string {
    return kinds
        .slice(0, 4)
        .map(([what, n]) => `${n} × ${what}`)
        .join("; ");
}

/** One method's figures of one run, by name (without the method's prefix). */
function methodFigures(r: MethodResult): Figures {
    const windows = [r.steady, r.during, r.after];
    const f: Figures = {
        steady_held: r.steadyHeld ? 1 : 0,
        total_requests: sum(windows.map(w => w.total)),
        during_requests: r.during.total,
        after_requests: r.after.total,
        failed_connection: sum(windows.map(w => w.failedConnection)),
        failed_5xx: sum(windows.map(w => w.failed5xx)),
        steady_p50_ms: r.steady.p50Ms,
        steady_p99_ms: r.steady.p99Ms,
        during_p50_ms: r.during.p50Ms,
        during_p99_ms: r.during.p99Ms,
        ...r.split,
    };
    for (const [step, n] of Object.entries(r.slow)) f[`slow_after_${step.replace(/\W+/g, "_")}`] = n;
    // Where the CPU went during the deploy, beside the same length of steady load.
    const { steady, deploy } = r.cpu;
    for (const [part, s] of Object.entries(deploy.parts)) {
        f[`cpu_${part}_seconds`] = s;
        f[`cpu_${part}_steady_seconds`] = (steady.parts[part as keyof CpuParts] / steady.seconds) * deploy.seconds;
    }
    return f;
}

/** The django-postgres copy's release command, from its Procfile, as dropyard's release step runs it. */
function releaseCommand(dir: string): string {
    const release = parseProcfile(readFileSync(join(dir, "app", "Procfile"), "utf8")).find(e => e.type === "release");
    if (!release) throw new Error(`${dir}/app/Procfile has no release line`);
    return release.command;
}

/**
 * The redeploy section: every method under the same load, one after the other, then the chart. The bench (generator
 * and deploying tool) runs it in its client cgroup (joinClientGroup), Docker's daemons in theirs (groupEngine).
 */
async function redeploySection(dir: string, stamp: string): Promise<void> {
    const put = results.section("redeploy");
    let generation = 0;
    const upAt = async (g: number) => {
        generation = g;
        const s = await up(dir, { log: false, config: { benchGeneration: String(g) } });
        if (!s.resources.some(r => r.action === "replace" && r.name.startsWith("counter-web-"))) {
            throw new Error(`generation ${g}: the web container was not replaced: ${JSON.stringify(s.resources)}`);
        }
    };
    const web = () => containerNamed("counter-web-1-");
    const target = await djangoTarget();
    const hey = await heySaturation(target.edgeIp);
    const search = await searchSaturation(r => steadyAt(target, r), hey / 2);
    const sat = search.rate;
    const rate = Math.floor(sat * 0.8);
    put("saturation_hey_requests_per_second", hey);
    put("saturation_requests_per_second", sat);
    put("saturation_runs", search.tried.length);
    put("load_requests_per_second", rate);
    put("load_share_of_saturation", rate / sat);
    results.note(
        "redeploy",
        `Load: vegeta at ${rate} req/s, 80% of the app's saturation in the same mix: ${sat} req/s, the highest ` +
            `constant rate answered for 8 s with no failure and p99 under ${STEADY_P99_MS} ms in the run's second half ` +
            `(${search.tried.length} runs from half of hey's closed-loop ${Math.round(hey)} req/s, which overloads this mix). 90% of the requests on ` +
            "kept-alive connections and 10% on a new connection each, https to the edge's address on its network; " +
            "generator, edge, app and database share the machine's cores (no pinning), the bench (generator and " +
            "deploying tool) in a cgroup of its own weighing as much as Docker's containers together, and so do " +
            "Docker's daemons (dockerd, containerd, the shims), as systemd weighs the services on a host.",
    );
    // BENCH_METHODS=dropyard measures some of them only (all by default).
    const only = process.env.BENCH_METHODS?.split(",").map(m => m.trim());
    const dropyard = dropyardMethod(g => upAt(g), web);
    const methods: Method[] = [
        dropyard,
        composeMethod(target, web),
        stopStartMethod(target, web),
        floorMethod(target, web, ["/bin/sh", "-c", releaseCommand(dir)], dropyard.watch),
    ].filter(m => only === undefined || only.includes(m.name));
    if (versionOf("/usr/local/bin/kamal-proxy", ["version"]) === "missing") {
        results.note("redeploy", "Kamal's proxy: its Go module did not build here (bench/tools.sh), so no column.");
    }
    // BENCH_ROUNDS=3 measures every method that many times, in turns, and records each figure's median.
    const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
    put("rounds", rounds);
    // Each method's rounds: the result (the chart draws one) and its figures.
    const runs = new Map<string, { result: MethodResult; figures: Figures }[]>(methods.map(m => [m.name, []]));
    const halfRate = Math.floor(sat * 0.5);
    const halfFigures: Figures[] = [];
    for (let round = 1; round <= rounds; round++) {
        const inRound = rounds > 1 ? ` (round ${round} of ${rounds})` : "";
        for (const m of methods) {
            // Near its saturation the app sometimes falls behind under the load alone and does not catch up within
            // the run. Such a run measures that overload, not the deploy: it is noted, and the method measured again
            // after the app settled (up to three attempts).
            let attempts = 0;
            let r: MethodResult;
            do {
                await settle(target);
                attempts++;
                generation++;
                r = await measure(m, target, { rate, steadySeconds: 4, afterSeconds: 3 }, generation, progress);
                if (!r.steadyHeld)
                    results.note(
                        "redeploy",
                        `${m.name}${inRound}, attempt ${attempts}: the load alone was not answered steadily before ` +
                            `the deploy (p50 ${r.steady.p50Ms.toFixed(0)} ms, p99 ${r.steady.p99Ms.toFixed(0)} ms, ` +
                            `${r.steady.failedConnection + r.steady.failed5xx} failed)`,
                    );
            } while (!r.steadyHeld && attempts < 3);
            runs.get(m.name)!.push({ result: r, figures: { attempts, ...methodFigures(r) } });
            if (r.failures.length > 0)
                results.note("redeploy", `${m.name}${inRound} failures: ${topKinds(r.failures)}`);
            if (r.edgeErrors.length > 0)
                results.note("redeploy", `${m.name}${inRound}, the edge's error log: ${topKinds(r.edgeErrors)}`);
        }
        // The same deploy at half the saturation: how it fares with headroom, for a user sizing a host.
        await settle(target);
        const half = await measure(
            dropyardMethod(g => upAt(g), web),
            target,
            { rate: halfRate, steadySeconds: 4, afterSeconds: 3 },
            ++generation,
            progress,
        );
        const windows = [half.steady, half.during, half.after];
        halfFigures.push({
            steady_held: half.steadyHeld ? 1 : 0,
            failed: sum(windows.map(w => w.failedConnection + w.failed5xx)),
            steady_p99_ms: half.steady.p99Ms,
            during_p99_ms: half.during.p99Ms,
            step_own_seconds: half.split.step_own_seconds,
            drain_seconds: half.split.drain_seconds,
        });
    }
    for (const [name, measured] of runs) {
        const key = name.replace(/-/g, "_");
        const each = measured.map(x => x.figures);
        for (const [k, v] of Object.entries(medianFigures(each))) put(`${key}_${k}`, v);
        const failed = each.map(f => (f.failed_connection ?? 0) + (f.failed_5xx ?? 0));
        put(`${key}_rounds_with_failures`, failed.filter(n => n > 0).length);
        put(`${key}_failed_max`, Math.max(...failed));
    }
    put("dropyard_half_load_requests_per_second", halfRate);
    for (const [k, v] of Object.entries(medianFigures(halfFigures))) put(`dropyard_half_load_${k}`, v);
    put("dropyard_half_load_rounds_with_failures", halfFigures.filter(f => (f.failed ?? 0) > 0).length);
    // The names scripts read before this section compared methods: dropyard's own column.
    const own = runs.get("dropyard")?.map(x => x.figures);
    if (own) {
        const legacy = results.section("redeploy", "redeploy_");
        const mid = medianFigures(own);
        legacy("total_requests", mid.total_requests);
        legacy("failed_requests", (mid.failed_connection ?? 0) + (mid.failed_5xx ?? 0));
    }
    // The chart shows one round: the one whose p99 during dropyard's deploy is the median.
    const p99s = (own ?? []).map(f => f.during_p99_ms ?? 0);
    const shown = p99s.length > 0 ? p99s.indexOf(median(p99s)) : 0;
    const svg = renderRedeployChart(
        `Redeploy under ${rate} req/s (${Math.round((100 * rate) / sat)}% of saturation), django-postgres behind ` +
            `the edge, ${cpus().length} cores${rounds > 1 ? `, round ${shown + 1} of ${rounds}` : ""}`,
        methods.map(m => {
            const r = runs.get(m.name)![shown].result;
            return { name: r.name, buckets: r.buckets, deployAtMs: r.deployAtMs, marks: r.marks };
        }),
    );
    const svgPath = join(RESULTS_DIR, `${stamp}-redeploy.svg`);
    writeFileSync(svgPath, svg);
    progress(`chart: ${svgPath}`);
}

async function main(): Promise<void> {
    results.note(
        "machine",
        `load average at the start: ${loadavg()
            .map(l => l.toFixed(1))
            .join(", ")} ` +
            "(other work on the machine shares its cores; each figure is of one run, the redeploy's the median " +
            "of its rounds)",
    );
    await prepare();
    const stamp = results.get().date.slice(0, 10);
    // Leftovers of an interrupted bench run first (its copies live at fixed paths), then anyone else's.
    for (const name of EXAMPLES) await down(join(BENCH_DIR, name), { purge: true, log: false }).catch(() => undefined);
    await waitForExamplesGone(Number(process.env.BENCH_WAIT_SECONDS ?? 1800), progress);

    if (wanted.has("examples"))
        for (const name of EXAMPLES) results.section("examples", "")(`eval_ms_${name}`, await evalMs(name));

    if (wanted.has("redeploy") || wanted.has("edge") || wanted.has("examples")) {
        const dir = await upTwice("django-postgres", { benchGeneration: "0" }, addGenerationVariable);
        try {
            if (wanted.has("redeploy")) {
                const leaveClientGroup = joinClientGroup();
                const ungroupEngine = groupEngine();
                try {
                    await redeploySection(dir, stamp);
                } finally {
                    ungroupEngine();
                    leaveClientGroup();
                }
            }
            if (wanted.has("edge")) {
                // A failed section is recorded as such; the others' figures are still written.
                await edgeOverhead(
                    await djangoTarget(),
                    results.section("edge"),
                    n => results.note("edge", n),
                    progress,
                ).catch((e: Error) => {
                    progress(`edge: ${e.stack}`);
                    results.note("edge", `the section failed: ${e.message}`);
                });
            }
        } finally {
            // The scratch directory holds a copy of the app's environment (its secrets) for compose and stop-start.
            rmSync(join(BENCH_DIR, "scratch"), { recursive: true, force: true });
            await down(dir, { purge: true, log: false });
        }
    }
    if (wanted.has("examples")) {
        for (const name of ["wordpress-mariadb", "notes-two-nets"] as const) {
            const dir = await upTwice(name);
            await down(dir, { purge: true, log: false });
        }
    }
    if (wanted.has("machine")) {
        // After the examples: the droplet's own Docker serves its ports, but Pebble shares the host's network.
        await benchMachine(results.section("machine"), n => results.note("machine", n), progress).catch((e: Error) => {
            progress(`machine: ${e.stack}`);
            results.note("machine", `the section failed: ${e.message}`);
        });
    }
    if (wanted.has("backup")) {
        // Its own container and ports: it does not wait for the examples.
        await benchBackup(results.section("backup", ""), progress).catch((e: Error) => {
            progress(`backup: ${e.stack}`);
            results.note("backup", `the section failed: ${e.message}`);
        });
    }
    progress(`results: ${results.write(RESULTS_DIR)}`);
    const readme = join(REPO, "bench", "README.md");
    const chart = wanted.has("redeploy") ? `results/${stamp}-redeploy.svg` : undefined;
    writeFileSync(readme, replaceLatest(readFileSync(readme, "utf8"), renderLatest(results.get(), chart)));
}

main().catch(e => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
});
