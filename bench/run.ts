// npm run bench: dropyard's numbers, measured on the sandbox (the local Docker engine) with Debian's hey.
// Prints one `name=value` per line on standard output; progress goes to standard error.
//
//   eval_ms_<example>            the example's program under the unit tests' mocks (median of 5)
//   cold_up_seconds_<example>    first `up` of a private copy: no state, containers or volumes (the engine's
//                                image and build caches stay as they are)
//   warm_up_seconds_<example>    the second `up`, nothing changed
//   noop_up_changes_<example>    resources that second `up` touched (target 0)
//   redeploy_*                   steady GET load through the edge to django-postgres (keep-alive and new
//                                connections) while it is redeployed with a changed image; failed = error,
//                                timeout or 5xx (target 0)
//   proxy_throughput_ratio       requests/s through the edge (https to the edge container's address on the
//                                edge network) / requests/s straight to the web container (its address on
//                                that network), hey at full speed, in turns, medians (target >= 0.9);
//                                _loopback: through the published port on 127.0.0.1 (docker-proxy);
//                                _gzip: a client accepting gzip, which the edge then compresses
//   edge_idle_rss_mb             the edge nginx's resident memory when idle
//
// It deploys the examples, whose container names and ports (80/443) are fixed: it first waits (bounded by
// BENCH_WAIT_SECONDS, default 1800) until no other example container is on the engine.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { evaluate } from "../sandbox/harness";
import { down, up, UpSummary } from "../sandbox";
import { prepareEngine } from "../sandbox/prepare";
import { ensureHey, HeyResult, runHey, startHey } from "./hey";
import { addressOn, BENCH_DIR, copyExample, Example, EXAMPLES, nginxRssMb, REPO, waitForExamplesGone } from "./stacks";

const DJANGO_HOST = "counter.localhost";

const progress = (line: string) => process.stderr.write(`bench: ${line}\n`);
const result = (name: string, value: number | string) =>
    process.stdout.write(`${name}=${typeof value === "number" ? round(value) : value}\n`);
const round = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(n < 10 ? 3 : 1));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function prepare(): Promise<void> {
    const images = ["postgres:17", "mariadb:11", "nginx:1.26", "wordpress:6.8-php8.4-apache", "python:3.13-slim",
        "node:20-slim"];
    await prepareEngine(images, { rebuildStale: true, stdio: ["ignore", 2, 2] });
    ensureHey();
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

/** Cold and warm `up` of a private copy; leaves it deployed and returns its directory and last summary. */
async function upTwice(name: Example): Promise<{ dir: string; summary: UpSummary }> {
    const dir = copyExample(name);
    progress(`${name}: cold up`);
    let t = Date.now();
    await up(dir, { log: false });
    result(`cold_up_seconds_${name}`, (Date.now() - t) / 1000);
    progress(`${name}: warm up`);
    t = Date.now();
    const summary = await up(dir, { log: false });
    result(`warm_up_seconds_${name}`, (Date.now() - t) / 1000);
    result(`noop_up_changes_${name}`, summary.resources.filter(r => r.action !== "same").length);
    return { dir, summary };
}

function sum(results: HeyResult[], f: (r: HeyResult) => number): number {
    return results.reduce((a, r) => a + f(r), 0);
}

/** django-postgres redeployed with a changed image under steady load through the edge. */
async function redeployUnderLoad(dir: string): Promise<void> {
    const common = { url: "https://127.0.0.1:443/", host: DJANGO_HOST, seconds: 600, timeout: 10 };
    const streams = [
        startHey({ ...common, concurrency: 2, qps: 20, keepAlive: true }),
        startHey({ ...common, concurrency: 2, qps: 15, keepAlive: false }),
    ];
    await sleep(3000);
    writeFileSync(join(dir, "app", "BENCH_DEPLOY"), `${Date.now()}\n`); // a changed file: a new image, a real redeploy
    progress("django-postgres: redeploy under load");
    const t = Date.now();
    const s = await up(dir, { log: false });
    const seconds = (Date.now() - t) / 1000;
    await sleep(3000);
    const [kept, fresh] = await Promise.all(streams.map(r => r.stop()));
    const replaced = s.resources.filter(r => r.action === "replace").map(r => r.name);
    if (!replaced.some(n => n.startsWith("counter-web-"))) throw new Error(`the redeploy did not replace the web container: ${JSON.stringify(s.resources)}`);
    for (const [k, r] of [["keep-alive", kept], ["new connections", fresh]] as const) {
        if (r.failed > 0) progress(`redeploy, ${k}: ${JSON.stringify(r.errors)} ${JSON.stringify(r.statuses)}`);
    }
    result("redeploy_total_requests", sum([kept, fresh], r => r.total));
    result("redeploy_failed_requests", sum([kept, fresh], r => r.failed));
    result("redeploy_failed_requests_keepalive", kept.failed);
    result("redeploy_failed_requests_new_connections", fresh.failed);
    result("redeploy_requests_per_second", sum([kept, fresh], r => r.rps));
    result("redeploy_seconds", seconds);
}

/**
 * Requests/s through the edge and straight to the web container, hey at full speed, the targets taken
 * in turn for several rounds (medians: the machine is shared). The app sends HTML uncompressed; a client
 * that accepts gzip makes the edge compress every page (its vhosts have gzip on), work the direct path
 * does not do, so the like-for-like ratio is measured without Accept-Encoding and the gzip one beside it.
 */
async function throughput(summary: UpSummary): Promise<void> {
    const web = summary.containers.find(c => c.name.startsWith("counter-web-1-"));
    if (!web) throw new Error("no counter-web-1 container in the summary");
    const network = "counter-host-edge";
    const direct = `http://${await addressOn(web.name, network)}:8000/`;
    const edge = `https://${await addressOn("counter-host-nginx", network)}:443/`;
    const targets = {
        direct: { url: direct, compression: false },
        edge: { url: edge, compression: false },
        loopback: { url: "https://127.0.0.1:443/", compression: false },
        directGzip: { url: direct, compression: true },
        edgeGzip: { url: edge, compression: true },
    };
    type Target = keyof typeof targets;
    const rps = Object.fromEntries(Object.keys(targets).map(k => [k, [] as number[]])) as Record<Target, number[]>;
    let failed = 0;
    for (let round = 1; round <= 5; round++) {
        progress(`throughput: round ${round} of 5`);
        for (const [k, t] of Object.entries(targets) as [Target, typeof targets[Target]][]) {
            const r = await runHey({ url: t.url, host: DJANGO_HOST, concurrency: 8, keepAlive: true,
                compression: t.compression, seconds: 6, timeout: 10 });
            rps[k].push(r.rps);
            failed += r.failed;
        }
    }
    const m = Object.fromEntries(Object.entries(rps).map(([k, v]) => [k, median(v)])) as Record<Target, number>;
    result("direct_requests_per_second", m.direct);
    result("edge_requests_per_second", m.edge);
    result("proxy_throughput_ratio", m.edge / m.direct);
    result("proxy_throughput_ratio_loopback", m.loopback / m.direct);
    result("proxy_throughput_ratio_gzip", m.edgeGzip / m.directGzip);
    result("throughput_failed_requests", failed);
}

async function main(): Promise<void> {
    await prepare();
    // Leftovers of an interrupted bench run first (its copies live at fixed paths), then anyone else's.
    for (const name of EXAMPLES) await down(join(BENCH_DIR, name), { purge: true, log: false }).catch(() => undefined);
    await waitForExamplesGone(Number(process.env.BENCH_WAIT_SECONDS ?? 1800), progress);

    for (const name of EXAMPLES) result(`eval_ms_${name}`, await evalMs(name));

    const django = await upTwice("django-postgres");
    try {
        await redeployUnderLoad(django.dir);
        const current = await up(django.dir, { log: false });
        await throughput(current);
        await sleep(5000);
        result("edge_idle_rss_mb", await nginxRssMb("counter-host-nginx"));
    } finally {
        await down(django.dir, { purge: true, log: false });
    }
    for (const name of ["wordpress-mariadb", "notes-two-nets"] as const) {
        const s = await upTwice(name);
        await down(s.dir, { purge: true, log: false });
    }
}

main().catch(e => {
    process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
});
