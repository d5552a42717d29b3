// Redeploy under load, several ways, one run: the same app image, the same edge nginx, the same machine
// and the same constant-rate load. Each method replaces the web container the edge's upstream group points at:
//   dropyard      `up` after an env change (no build): new container beside the old, health, switch, drain;
//   compose       `docker-compose up -d` recreating the service (Compose stops the old, then starts the new);
//   stop-start    `docker stop`, `docker rm`, `docker create` + `docker start` of a same-named container;
//   kamal-proxy   Kamal's proxy between the edge and the app: new container, `kamal-proxy deploy`, old removed;
//   floor         no replacement: the release command and a new container's boot beside the serving one, by
//                 plain docker commands, what any zero-downtime deploy of the app pays on the same cores.
// The foreign methods run copies of dropyard's web container (its image, command and environment) on the
// same networks under an alias of their own, and the edge's upstream group points at that alias for their turn.
import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { setPriority as setNice } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { LABEL } from "../lib/labels";
import { renderUpstreamGroup } from "../lib/render/deploy";
import { RELEASE_CPU_SHARES } from "../lib/render/release";
import { Engine } from "../sandbox/docker";
import { sampleCpu, WindowCpu } from "./deploy-cpu";
import { accepts, answers, watchEngine } from "./events";
import { Mark, splitDeploy, DeploySplit } from "./phases";
import {
    between,
    Bucket,
    edgeErrorKinds,
    failureKinds,
    Sample,
    series,
    slowBySteps,
    windowFigures,
    WindowFigures,
} from "./stats";
import { answeredSteadily } from "./saturation";
import { Attack, startAttack } from "./vegeta";

const run = promisify(execFile);
/**
 * Sets the priority of every thread of this process and of its descendants (the esbuild service, the
 * docker CLI, the deploy step's shell), except the processes in `keep` and theirs. Root may raise it back.
 */
function renice(nice: number, keep: number[]): void {
    const parent = new Map<number, number>();
    for (const p of readdirSync("/proc").filter(d => /^\d+$/.test(d))) {
        try {
            // pid (comm) state ppid …: comm may hold spaces, so read after its closing parenthesis.
            const stat = readFileSync(`/proc/${p}/stat`, "utf8");
            parent.set(Number(p), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
        } catch {
            /* the process ended meanwhile */
        }
    }
    const inTree = (pid: number): boolean => {
        for (let p = pid; p > 1; p = parent.get(p) ?? 0) {
            if (keep.includes(p)) return false;
            if (p === process.pid) return true;
        }
        return false;
    };
    for (const pid of [...parent.keys()].filter(inTree)) {
        for (const tid of (() => {
            try {
                return readdirSync(`/proc/${pid}/task`);
            } catch {
                return [];
            }
        })()) {
            try {
                setNice(Number(tid), nice);
            } catch {
                /* ended meanwhile */
            }
        }
    }
}
const engine = Engine.local();

/** Where the App's requests go: the edge, its network, the app's file in its conf.d. */
export interface Target {
    readonly app: string;
    readonly host: string;
    readonly edge: string;
    readonly network: string;
    readonly port: number;
    /** The edge's address on its network (the load goes there, not through docker-proxy on 127.0.0.1). */
    readonly edgeIp: string;
    /** The bench's scratch directory (env files, compose project). */
    readonly dir: string;
}

export interface Method {
    readonly name: string;
    /** New containers' names match this (the readiness probe watches them). */
    readonly watch: RegExp;
    /** Sets the method up and points the edge at it; the load is not running yet. */
    prepare(): Promise<void>;
    /** The redeploy. Returns the old and new container names. */
    deploy(generation: number): Promise<{ oldName: string; newName: string }>;
    /** Removes what prepare made and points the edge back. */
    cleanup(): Promise<void>;
}

export interface MethodResult {
    readonly name: string;
    readonly steady: WindowFigures;
    readonly during: WindowFigures;
    /** After the deploy returned, until a second before the load stopped (an outage may outlast the command). */
    readonly after: WindowFigures;
    readonly split: DeploySplit;
    readonly marks: Mark[];
    readonly buckets: Bucket[];
    /** The deploy's start in ms from the first bucket. */
    readonly deployAtMs: number;
    /**
     * Whether the load alone was answered steadily before the deploy began (bench/saturation.ts): when it was not, the
     * figures are of an app the load had already overwhelmed, not of the deploy.
     */
    readonly steadyHeld: boolean;
    /** Failures by kind, most frequent first. */
    readonly failures: [string, number][];
    /** Requests slower than 3× the steady p99, by the deploy step in which they were sent (marks' labels). */
    readonly slow: Record<string, number>;
    /** The edge's error-log lines (warning and above) of the method's window, by kind, most frequent first. */
    readonly edgeErrors: [string, number][];
    /** Where the CPU went from the deploy's start until it returned, and in the steady window before it. */
    readonly cpu: { readonly steady: WindowCpu; readonly deploy: WindowCpu };
}

export interface LoadPlan {
    readonly rate: number;
    /** Seconds of steady load before the deploy (the first second is warm-up, left out). */
    readonly steadySeconds: number;
    /** Seconds of load after the deploy returned. */
    readonly afterSeconds: number;
}

/**
 * The redeploy's load on the edge at `rate` req/s: one request in ten on a new connection (the reload closes
 * kept-alive ones, new ones meet the listener), the rest kept alive. It runs `seconds` at most.
 */
export function startLoad(target: Target, rate: number, seconds?: number): Attack[] {
    const url = `https://${target.edgeIp}/`;
    return [
        startAttack({ url, host: target.host, rate: rate * 0.9, keepAlive: true, seconds }),
        startAttack({ url, host: target.host, rate: rate * 0.1, keepAlive: false, seconds }),
    ];
}

/** One method under load: steady figures, figures during the deploy, the 100 ms series and the split. */
export async function measure(
    method: Method,
    target: Target,
    plan: LoadPlan,
    generation: number,
    progress: (l: string) => void,
): Promise<MethodResult> {
    try {
        await method.prepare();
        const attacks = startLoad(target, plan.rate);
        const origin = Date.now();
        // The deploying tool (the sandbox's Pulumi engine, docker-compose, the docker CLI) runs beside the app here;
        // on a real host it runs on the developer's machine. Lowest priority keeps it from starving the app,
        // alike for every method; the load generators started above keep theirs.
        renice(
            19,
            attacks.map(a => a.pid),
        );
        const isApp = (name: string) => method.watch.test(name);
        const generators = attacks.map(a => a.pid);
        await sleep(1000);
        const steadySampler = sampleCpu(isApp, target.edge, generators);
        await sleep((plan.steadySeconds - 1) * 1000);
        const steadyCpu = await steadySampler.stop();
        const watch = watchEngine(method.watch, target.network, target.port);
        progress(`${method.name}: redeploy under ${Math.round(plan.rate)} req/s`);
        const deploySampler = sampleCpu(isApp, target.edge, generators);
        const startMs = Date.now();
        const names = await method.deploy(generation);
        const endMs = Date.now();
        const deployCpu = await deploySampler.stop();
        await sleep(plan.afterSeconds * 1000);
        const samples: Sample[] = (await Promise.all(attacks.map(a => a.stop()))).flat();
        const { events, ready, answers } = await watch.stop();
        const { split, marks } = splitDeploy({
            startMs,
            endMs,
            events,
            readyMs: ready[names.newName],
            answersMs: answers[names.newName],
            edgeName: target.edge,
            ...names,
        });
        const steadySamples = between(samples, origin + 1000, startMs);
        const steady = windowFigures(steadySamples);
        // Up to a second before the load stopped: requests cut short by the stop are not the server's doing.
        const lastMs = endMs + (plan.afterSeconds - 1) * 1000;
        return {
            name: method.name,
            steady,
            during: windowFigures(between(samples, startMs, endMs)),
            after: windowFigures(between(samples, endMs, lastMs)),
            split,
            marks,
            buckets: series(samples, origin, lastMs),
            deployAtMs: startMs - origin,
            steadyHeld: answeredSteadily(steadySamples),
            failures: failureKinds(samples),
            slow: slowBySteps(samples, startMs, marks, 3 * steady.p99Ms),
            edgeErrors: edgeErrorKinds(await edgeLog(target.edge, origin)),
            cpu: { steady: steadyCpu, deploy: deployCpu },
        };
    } finally {
        renice(0, []);
        await method.cleanup();
    }
}

/** The edge's error-log lines (its standard error) since `sinceMs`. */
async function edgeLog(edge: string, sinceMs: number): Promise<string[]> {
    const { stderr } = await run("docker", ["logs", "--since", String(Math.floor(sinceMs / 1000)), edge], {
        maxBuffer: 1 << 26,
    });
    return stderr.split("\n");
}

/** The edge's conf.d on the host (mounted read-only into the edge). */
export async function confDir(edge: string): Promise<string> {
    const mount = (await engine.containerInspect(edge))?.Mounts.find(m => m.Destination === "/etc/nginx/conf.d");
    if (!mount) throw new Error(`${edge} has no /etc/nginx/conf.d mount`);
    return mount.Source;
}

/** Points the App's upstream group in the edge at `upstream` and reloads; returns a function that restores the file. */
export async function pointEdge(t: Target, upstream: string): Promise<() => Promise<void>> {
    const file = join(await confDir(t.edge), `upstream-${t.app}.conf`);
    const before = readFileSync(file, "utf8");
    const reload = async () => {
        await run("docker", ["exec", t.edge, "nginx", "-s", "reload"]);
        await sleep(500);
    };
    writeFileSync(file, renderUpstreamGroup(t.app, [upstream], t.port));
    await reload();
    return async () => {
        writeFileSync(file, before);
        await reload();
    };
}

/** What a copy of dropyard's web container needs: image, command, environment (in a 0600 file), networks. */
interface WebTemplate {
    readonly image: string;
    readonly entrypoint: string[] | null;
    readonly cmd: string[] | null;
    readonly envFile: string;
    readonly networks: string[];
    readonly stopSeconds: number;
}

async function template(t: Target, web: () => Promise<string>): Promise<WebTemplate> {
    const c = await engine.containerInspect(await web());
    if (!c) throw new Error(`no container ${web}`);
    mkdirSync(t.dir, { recursive: true });
    const envFile = join(t.dir, "web.env");
    // The environment holds the app's secrets: a file only root reads, removed with the bench's directory.
    writeFileSync(envFile, `${c.Config.Env.filter(e => !e.startsWith("BENCH_GENERATION=")).join("\n")}\n`, {
        mode: 0o600,
    });
    chmodSync(envFile, 0o600);
    const entry = c.Config.Entrypoint as string[] | string | null;
    return {
        image: c.Config.Image,
        entrypoint: typeof entry === "string" ? [entry] : entry,
        cmd: c.Config.Cmd ?? null,
        envFile,
        networks: Object.keys(c.NetworkSettings.Networks),
        stopSeconds: (c.Config as { StopTimeout?: number }).StopTimeout ?? 10,
    };
}

const BENCH_LABEL = "dev.dropyard.bench=redeploy";

/** dropyard's own deploy: `up` with a changed variable, so no build and a real container replacement. */
export function dropyardMethod(up: (generation: number) => Promise<void>, web: () => Promise<string>): Method {
    return {
        name: "dropyard",
        watch: /^counter-web-1-/,
        prepare: async () => undefined,
        deploy: async generation => {
            const oldName = await web();
            await up(generation);
            return { oldName, newName: await web() };
        },
        cleanup: async () => undefined,
    };
}

/** `docker-compose up -d` recreating the service after an env change, behind the same edge. */
export function composeMethod(t: Target, web: () => Promise<string>): Method {
    const project = "dropyardbench";
    const alias = `${t.app}-compose`;
    const dir = join(t.dir, "compose");
    let restore: () => Promise<void> = async () => undefined;
    const write = (tpl: WebTemplate, generation: number) => {
        const service: Record<string, unknown> = {
            image: tpl.image,
            env_file: [tpl.envFile],
            environment: { BENCH_GENERATION: String(generation) },
            labels: [BENCH_LABEL],
            stop_grace_period: `${tpl.stopSeconds}s`,
            restart: "unless-stopped",
            networks: Object.fromEntries(tpl.networks.map(n => [n, { aliases: [alias] }])),
        };
        // Compose substitutes $VARIABLES in the file itself; the command's own ($PORT) must reach the shell.
        const literal = (argv: string[]) => argv.map(a => a.replace(/\$/g, "$$$$"));
        if (tpl.entrypoint) service.entrypoint = literal(tpl.entrypoint);
        if (tpl.cmd) service.command = literal(tpl.cmd);
        mkdirSync(dir, { recursive: true });
        writeFileSync(
            join(dir, "docker-compose.yml"),
            stringify({
                version: "3.7",
                services: { web: service },
                networks: Object.fromEntries(tpl.networks.map(n => [n, { external: true, name: n }])),
            }),
        );
    };
    const compose = (...args: string[]) => run("docker-compose", ["-p", project, ...args], { cwd: dir });
    let tpl: WebTemplate;
    return {
        name: "compose",
        watch: new RegExp(`^${project}_web_`),
        prepare: async () => {
            tpl = await template(t, web);
            write(tpl, 0);
            await compose("up", "-d");
            await waitAccepting(`${project}_web_1`, t);
            restore = await pointEdge(t, alias);
        },
        deploy: async generation => {
            write(tpl, generation);
            await compose("up", "-d");
            return { oldName: `${project}_web_1`, newName: `${project}_web_1` };
        },
        cleanup: async () => {
            await restore();
            if (existsSync(join(dir, "docker-compose.yml")))
                await compose("down", "--timeout", "2").catch(() => undefined);
        },
    };
}

/**
 * Creates and starts a copy of the web container named `name`, on all its networks under that name as alias;
 * `argv` instead of the image's command (the image's entrypoint stays, as in dropyard's release step).
 */
async function startCopy(
    tpl: WebTemplate,
    name: string,
    generation: number,
    { labels = [BENCH_LABEL], argv, cpuShares }: { labels?: string[]; argv?: string[]; cpuShares?: number } = {},
): Promise<void> {
    const [first, ...rest] = tpl.networks;
    await run("docker", [
        "create",
        "--name",
        name,
        ...labels.flatMap(l => ["--label", l]),
        ...(cpuShares ? ["--cpu-shares", String(cpuShares)] : []),
        "--env-file",
        tpl.envFile,
        "-e",
        `BENCH_GENERATION=${generation}`,
        "--network",
        first,
        "--network-alias",
        name,
        "--stop-timeout",
        String(tpl.stopSeconds),
        ...(argv
            ? [tpl.image, ...argv]
            : [
                  "--restart",
                  "unless-stopped",
                  ...(tpl.entrypoint ? ["--entrypoint", tpl.entrypoint[0]] : []),
                  tpl.image,
                  ...(tpl.entrypoint ? tpl.entrypoint.slice(1) : []),
                  ...(tpl.cmd ?? []),
              ]),
    ]);
    for (const n of rest) await run("docker", ["network", "connect", "--alias", name, n, name]);
    await run("docker", ["start", name]);
}

/** The naive replacement: stop and remove the container, then create and start one of the same name. */
export function stopStartMethod(t: Target, web: () => Promise<string>): Method {
    const name = `${t.app}-plain`;
    let restore: () => Promise<void> = async () => undefined;
    let tpl: WebTemplate;
    return {
        name: "stop-start",
        watch: new RegExp(`^${name}$`),
        prepare: async () => {
            tpl = await template(t, web);
            await run("docker", ["rm", "-f", name]).catch(() => undefined);
            await startCopy(tpl, name, 0);
            await waitAccepting(name, t);
            restore = await pointEdge(t, name);
        },
        deploy: async generation => {
            await run("docker", ["stop", name]);
            await run("docker", ["rm", name]);
            await startCopy(tpl, name, generation);
            return { oldName: name, newName: name };
        },
        cleanup: async () => {
            await restore();
            await run("docker", ["rm", "-f", name]).catch(() => undefined);
        },
    };
}

/**
 * The floor: what any zero-downtime deploy of this app has to do on this host, by plain docker commands and
 * with no switch. The release command runs to its end in a container of the image (at the CPU weight of
 * dropyard's release step), then a new web container starts beside the serving one and is removed once it
 * answers; the edge stays on dropyard's container throughout. What the load meets here comes from the app's
 * own work; what dropyard's deploy adds to it is the deploying tool's (program, switch, drain).
 */
export function floorMethod(t: Target, web: () => Promise<string>, release: string[], serving: RegExp): Method {
    const name = `${t.app}-floor`;
    const releaseName = `${t.app}-floor-release`;
    let tpl: WebTemplate;
    const remove = async () => {
        await run("docker", ["rm", "-f", name, releaseName]).catch(() => undefined);
    };
    return {
        name: "floor",
        // Dropyard's container serves (the old app); the copy is the new one.
        watch: new RegExp(`^${name}$|${serving.source}`),
        prepare: async () => {
            tpl = await template(t, web);
            await remove();
        },
        deploy: async generation => {
            const oldName = await web();
            const labels = [BENCH_LABEL, `${LABEL.process}=release`];
            await startCopy(tpl, releaseName, generation, { labels, argv: release, cpuShares: RELEASE_CPU_SHARES });
            const { stdout } = await run("docker", ["wait", releaseName]);
            if (stdout.trim() !== "0") throw new Error(`floor: the release command exited ${stdout.trim()}`);
            await startCopy(tpl, name, generation);
            await waitAnswering(name, t);
            return { oldName, newName: name };
        },
        cleanup: remove,
    };
}

/** Waits (at most 60 s) until a container answers `HEAD /` on the target's network, as dropyard's deploy step asks. */
async function waitAnswering(name: string, t: Target): Promise<void> {
    await waitAccepting(name, t);
    const ip = (await engine.containerInspect(name))?.NetworkSettings.Networks[t.network]?.IPAddress;
    const deadline = Date.now() + 60_000;
    while (ip && Date.now() < deadline) {
        if (await answers(ip, t.port, 1000)) return;
        await sleep(20);
    }
    throw new Error(`${name} did not answer HEAD / on port ${t.port} within 60 s`);
}

/** Waits (at most 60 s) until a container's port accepts connections on the target's network. */
async function waitAccepting(name: string, t: Target): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
        const ip = (await engine.containerInspect(name))?.NetworkSettings.Networks[t.network]?.IPAddress;
        if (ip) {
            if (await accepts(ip, t.port)) return;
        }
        await sleep(200);
    }
    throw new Error(`${name} did not accept connections on port ${t.port} within 60 s`);
}
