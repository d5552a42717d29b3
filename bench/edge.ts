// The edge's own cost, with an upstream fast enough not to hide it: a static response from an nginx
// container (the stand-in nginx image) on the edge network. The App's upstream group is pointed at it, so
// requests take dropyard's whole vhost (TLS, headers, the group's kept-open connections). Compared with:
//   direct     plain http to the static container;
//   plain TLS  the same nginx image with TLS (the same certificate, protocols and curves) proxying to the
//              same upstream, and no dropyard config: the price of a new TLS 1.3 connection by itself;
//   per-request  the edge's own files with the vhost proxying to the upstream's name resolved per request,
//              a new connection each time (what dropyard rendered before 2026-12-02): what keepalive saves.
// CPU time per request of each party and each core's busy share are read around every full-speed run.
// Cores: the edge, the upstream and the plain TLS nginx are pinned to CPU 0 (docker update --cpuset-cpus),
// hey to CPU 1 (taskset), so the generator does not take the server's core.
import { execFile } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { Engine } from "../sandbox/docker";
import { cpuShare, readCpu } from "./cpu";
import { HeyOptions, HeyResult, runHey } from "./hey";
import { upstreamGroup } from "../lib/render/deploy";
import { confDir, pointEdge, Target } from "./redeploy";
import { Figure } from "./results";
import { median } from "./stats";
import { nginxRssMb } from "./stacks";

const run = promisify(execFile);
const engine = Engine.local();
const SERVER_CPU = "0";
const CLIENT_CPU = "1";

const STATIC_CONF = `server {
    listen 8000 default_server;
    access_log off;
    location / { default_type text/plain; return 200 "ok\\n"; }
}
`;

/** The plain TLS server: what the edge's vhost does for TLS (nginx.ts's settings), without the rest. */
function plainTlsConf(cert: string, key: string, upstream: string): string {
    return `server {
    listen 443 ssl default_server;
    access_log off;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ecdh_curve X25519:prime256v1:secp384r1;
    ssl_session_tickets off;
    location / { proxy_pass http://${upstream}:8000; }
}
`;
}

/**
 * The edge's own files (its defaults, the App's group, the vhosts) with one change: the vhost proxies to the
 * upstream's name, which nginx resolves per request and so connects to per request, instead of the App's
 * group, which keeps connections open. What dropyard rendered before 2026-12-02: what keepalive saves.
 */
async function perRequestConf(t: Target, upstream: string): Promise<string> {
    const dir = await confDir(t.edge);
    const text = readdirSync(dir)
        .filter(f => f.endsWith(".conf"))
        .sort()
        .map(f => readFileSync(join(dir, f), "utf8"))
        .join("\n");
    const group = `http://${upstreamGroup(t.app)};`;
    const changed = text.split(`set $upstream ${group}`).join(`set $upstream http://${upstream}:8000;`);
    if (changed === text || !/^\s*resolver /m.test(changed))
        throw new Error(`${dir}: no \`set $upstream ${group}\` with a resolver to change for the per-request variant`);
    return changed;
}

/** Starts an nginx:1.30 container with one conf.d file, on the edge network, pinned to the server core. */
async function nginxContainer(t: Target, name: string, conf: string, mounts: string[] = []): Promise<string> {
    const dir = join(t.dir, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "default.conf"), conf);
    await run("docker", ["rm", "-f", name]).catch(() => undefined);
    await run("docker", [
        "run",
        "-d",
        "--name",
        name,
        "--label",
        "dev.dropyard.bench=edge",
        "--network",
        t.network,
        "--network-alias",
        name,
        "--cpuset-cpus",
        SERVER_CPU,
        "-v",
        `${join(dir, "default.conf")}:/etc/nginx/conf.d/default.conf:ro`,
        ...mounts.flatMap(m => ["-v", m]),
        "nginx:1.30",
    ]);
    const ip = (await engine.containerInspect(name))?.NetworkSettings.Networks[t.network]?.IPAddress;
    if (!ip) throw new Error(`${name} has no address on ${t.network}`);
    return ip;
}

/** The edge vhost's certificate and key paths, read from its config. */
async function edgeCertificate(edge: string): Promise<{ cert: string; key: string }> {
    const { stdout } = await run("docker", ["exec", edge, "nginx", "-T"], { maxBuffer: 1 << 24 });
    const cert = stdout.match(/^\s*ssl_certificate\s+([^;\s]+);/m)?.[1];
    const key = stdout.match(/^\s*ssl_certificate_key\s+([^;\s]+);/m)?.[1];
    if (!cert || !key) throw new Error(`${edge}: no ssl_certificate in nginx -T`);
    return { cert, key };
}

/** hey on the client core. */
const hey = (o: HeyOptions) => runHey({ ...o, cpus: CLIENT_CPU });

/** The edge section's figures, through `put`; notes through `note`. */
export async function edgeOverhead(
    t: Target,
    put: (k: string, v: Figure) => void,
    note: (s: string) => void,
    progress: (l: string) => void,
): Promise<void> {
    const edgeMounts = (await engine.containerInspect(t.edge))?.Mounts ?? [];
    await run("docker", ["update", "--cpuset-cpus", SERVER_CPU, t.edge]);
    let restore: () => Promise<void> = async () => undefined;
    try {
        const staticIp = await nginxContainer(t, "counter-static", STATIC_CONF);
        restore = await pointEdge(t, "counter-static");
        const { cert, key } = await edgeCertificate(t.edge);
        // Only the directories that hold the certificate and key: the edge's conf.d would bring dropyard's config.
        const certMounts = edgeMounts.filter(m => [cert, key].some(p => p.startsWith(`${m.Destination}/`)));
        const plainIp = await nginxContainer(
            t,
            "counter-plain-tls",
            plainTlsConf(cert, key, "counter-static"),
            certMounts.map(m => `${m.Source}:${m.Destination}:ro`),
        );
        // The per-request variant reads the certificates where the edge does.
        const perIp = await nginxContainer(
            t,
            "counter-per-request",
            await perRequestConf(t, "counter-static"),
            certMounts.map(m => `${m.Source}:${m.Destination}:ro`),
        );
        await sleep(1000);
        const direct = { url: `http://${staticIp}:8000/`, host: t.host };
        const edge = { url: `https://${t.edgeIp}/`, host: t.host };
        const plain = { url: `https://${plainIp}/`, host: t.host };
        const per = { url: `https://${perIp}/`, host: t.host };
        const check = (what: string, r: HeyResult) => {
            if (r.failed > 0 || r.total === 0)
                throw new Error(
                    `${what}: ${r.failed} of ${r.total} failed: ${JSON.stringify(r.errors)} ${JSON.stringify(r.statuses)}`,
                );
            return r;
        };
        // Where each full-speed run's CPU went: the edge, the static upstream, Docker's daemons, each core.
        const ids: Record<string, string> = {};
        const parties = { edge: t.edge, upstream: "counter-static", per_request_edge: "counter-per-request" };
        for (const [party, name] of Object.entries(parties)) {
            const id = (await engine.containerInspect(name))?.Id;
            if (id) ids[id] = party;
        }
        const cpu: Record<string, Record<string, number[]>> = { direct: {}, edge: {}, per_request: {} };
        const measured = async (what: keyof typeof cpu, o: HeyOptions) => {
            const before = readCpu(Object.keys(ids));
            const r = check(what, await hey(o));
            const share = cpuShare(before, readCpu(Object.keys(ids)), r.total, ids);
            const figures: Record<string, number> = {
                ...Object.fromEntries(
                    Object.entries(share.perRequestUs).map(([k, v]) => [`${k}_cpu_us_per_request`, v]),
                ),
                docker_daemons_cpu_us_per_request: share.daemonsPerRequestUs,
                ...Object.fromEntries(share.coreBusyPercent.map((v, i) => [`cpu${i}_busy_percent`, v])),
            };
            for (const [k, v] of Object.entries(figures)) (cpu[what][k] ??= []).push(v);
            return r;
        };
        // Throughput at full speed on kept-alive connections, and new connections per second, the targets in turn.
        const rps: Record<string, number[]> = { direct: [], edge: [], perRequest: [], edgeNew: [], plainNew: [] };
        for (let round = 1; round <= 3; round++) {
            progress(`edge: round ${round} of 3`);
            const full = { concurrency: 32, seconds: 4, compression: false, timeout: 10 };
            rps.direct.push((await measured("direct", { ...direct, ...full, keepAlive: true })).rps);
            rps.edge.push((await measured("edge", { ...edge, ...full, keepAlive: true })).rps);
            rps.perRequest.push((await measured("per_request", { ...per, ...full, keepAlive: true })).rps);
            rps.edgeNew.push(check("edge, new connections", await hey({ ...edge, ...full, keepAlive: false })).rps);
            rps.plainNew.push(
                check("plain TLS, new connections", await hey({ ...plain, ...full, keepAlive: false })).rps,
            );
        }
        const m = Object.fromEntries(Object.entries(rps).map(([k, v]) => [k, median(v)]));
        put("static_direct_requests_per_second", m.direct);
        put("static_edge_requests_per_second", m.edge);
        put("throughput_ratio", m.edge / m.direct);
        put("static_per_request_variant_requests_per_second", m.perRequest);
        put("per_request_variant_throughput_ratio", m.perRequest / m.direct);
        put("tls_new_connections_per_second", m.edgeNew);
        put("plain_tls_new_connections_per_second", m.plainNew);
        put("tls_new_connections_ratio", m.edgeNew / m.plainNew);
        for (const [what, figures] of Object.entries(cpu))
            for (const [k, v] of Object.entries(figures)) put(`${what}_run_${k}`, median(v));
        // Latency at a fixed, moderate rate (1,000 req/s on 4 kept-alive connections): the edge's own time,
        // not queueing.
        const paced = { concurrency: 4, qps: 250, seconds: 5, compression: false, timeout: 10, keepAlive: true };
        const d = check("direct, paced", await hey({ ...direct, ...paced }));
        const e = check("edge, paced", await hey({ ...edge, ...paced }));
        put("direct_p50_ms", d.p50Ms);
        put("direct_p99_ms", d.p99Ms);
        put("edge_p50_ms", e.p50Ms);
        put("edge_p99_ms", e.p99Ms);
        put("added_p50_ms", e.p50Ms - d.p50Ms);
        put("added_p99_ms", e.p99Ms - d.p99Ms);
        const k = check("per-request variant, paced", await hey({ ...per, ...paced }));
        put("per_request_variant_added_p50_ms", k.p50Ms - d.p50Ms);
        put("per_request_variant_added_p99_ms", k.p99Ms - d.p99Ms);
        note(
            `Cores: the edge, the static upstream and the plain TLS nginx pinned to CPU ${SERVER_CPU} (docker update ` +
                `--cpuset-cpus), hey to CPU ${CLIENT_CPU} (taskset); full speed = hey with 32 connections for 4 s, 3 rounds ` +
                "in turn, medians; latency at 1,000 req/s (4 connections x 250/s) for 5 s. Other processes on the machine " +
                "were not pinned. <run>_run_* figures: each full-speed run's CPU time per answered request of the edge, " +
                "the static upstream, the per-request variant and Docker's daemons (which copy the access log), and " +
                "each core's busy percent (medians of the rounds).",
        );
        await sleep(3000);
        put("idle_rss_mb", await nginxRssMb(t.edge));
    } finally {
        await restore();
        await run("docker", ["rm", "-f", "counter-static", "counter-plain-tls", "counter-per-request"]).catch(
            () => undefined,
        );
        await run("docker", ["update", "--cpuset-cpus", `${SERVER_CPU},${CLIENT_CPU}`, t.edge]).catch(() => undefined);
    }
}
