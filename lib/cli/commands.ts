// The day-two commands: `ps`, `logs`, `run`, `exec`. Each finds what it works on in the stack model
// (see state.ts) first, so an unknown app or process type fails before any host is asked, with the
// valid names in the message; then it talks to the host's Docker API. No environment value is read
// out of a container or printed: `ps` shows variable names only.
import { PassThrough, Readable } from "node:stream";
import type Docker from "dockerode";
import { LABEL } from "../labels";
import { jobContainer } from "../render/schedules";
import { BackupStatus, backupStatus } from "./backups";
import { CliError } from "./errors";
import { isNotFound } from "./docker";
import type { Context } from "./context";
import { AppInfo, ContainerInfo, StackModel } from "./state";

export type { Context } from "./context";

const list = (names: string[]) => (names.length ? names.join(", ") : "none");

/** The app called `name`; an error listing the stack's apps otherwise. */
export function findApp(model: StackModel, name: string): AppInfo {
    const app = model.apps.find(a => a.name === name);
    if (!app)
        throw new CliError(
            `unknown app "${name}"; the apps of stack ${model.stack} are: ${list(model.apps.map(a => a.name))}`,
        );
    return app;
}

/** The app's process types that have containers (`web`, workers), in the state's order, then its scheduled jobs. */
export function processTypes(app: AppInfo): string[] {
    return [
        ...new Set([
            ...app.containers.map(c => c.process).filter((p): p is string => p !== undefined),
            ...app.schedules.map(j => j.name),
        ]),
    ];
}

/** The container a scheduled job's last run left (gone before its first run). */
function jobRun(app: AppInfo, job: string): ContainerInfo {
    return { resource: job, name: jobContainer(app.name, job), process: job, envKeys: [], host: app.host };
}

/**
 * The app's containers of process type `type` (all the app's running processes when undefined; a
 * scheduled job's is its last run); an error listing its types otherwise.
 */
export function containersOf(app: AppInfo, type: string | undefined): ContainerInfo[] {
    if (type === undefined) return [...app.containers];
    if (app.schedules.some(j => j.name === type)) return [jobRun(app, type)];
    const found = app.containers.filter(c => c.process === type);
    if (found.length === 0)
        throw new CliError(
            `app "${app.name}" has no process type "${type}"; its process types are: ${list(processTypes(app))}`,
        );
    return found;
}

// ---------------------------------------------------------------------------------------------- ps

export interface ContainerStatus {
    name: string;
    process?: string;
    /**
     * `healthy`/`unhealthy`/`starting` with a healthcheck, else the state (`running`, `exited`, ...); `missing`
     * when gone.
     */
    health: string;
    /** The image the container runs (its id, `sha256:…`): the release. */
    image: string;
    restarts: number;
    startedAt?: string;
    uptimeSeconds?: number;
}

/** A scheduled job and its last run (from the container the run left). */
export interface ScheduleStatus {
    name: string;
    cron: string;
    /** Absent before the first run. */
    lastRun?: { startedAt: string; finishedAt?: string; running: boolean; exitCode?: number };
}

export interface PsResult {
    stack: string;
    apps: {
        name: string;
        host: string;
        processes: string[];
        env: string[];
        containers: ContainerStatus[];
        schedules: ScheduleStatus[];
    }[];
    /** `backup`: each destination's last success and failure, from the host's status.json (absent without backup). */
    databases: { name: string; kind: string; host: string; containers: ContainerStatus[]; backup?: BackupStatus }[];
    /**
     * Run in the stack that owns a host (without an app named): the apps other stacks run on it, by stack.
     * Absent when this stack owns no host.
     */
    otherStacks?: OtherStack<ContainerStatus>[];
}

/** Another stack's apps on a host this stack owns, from the labels on the host's containers. */
export interface OtherStack<C> {
    /** `<project>/<stack>`. */
    stack: string;
    host: string;
    apps: { name: string; processes: string[]; containers: C[] }[];
}

/** A container as Docker lists it: what grouping by stack and app reads. */
export interface ListedContainer {
    Id: string;
    Names: string[];
    Labels: Record<string, string>;
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * The apps of every stack but `me` among the containers listed on `host` (those an App labelled with the
 * host), grouped by owning stack, then app; stacks, apps and containers sorted by name.
 */
export function otherStacksOn(
    host: string,
    me: string,
    listed: readonly ListedContainer[],
): OtherStack<ContainerInfo>[] {
    const stacks = new Map<string, Map<string, ContainerInfo[]>>();
    for (const c of listed) {
        const l = c.Labels ?? {};
        const app = l[LABEL.app];
        if (!app || l[LABEL.host] !== host) continue;
        const owner = `${l[LABEL.project] ?? ""}/${l[LABEL.stack] ?? ""}`;
        if (owner === me) continue;
        const apps = stacks.get(owner) ?? new Map<string, ContainerInfo[]>();
        stacks.set(owner, apps);
        const name = (c.Names[0] ?? c.Id).replace(/^\//, "");
        apps.set(app, [
            ...(apps.get(app) ?? []),
            { resource: name, name, id: c.Id, process: l[LABEL.process], envKeys: [], host },
        ]);
    }
    return [...stacks]
        .map(([stack, apps]) => ({
            stack,
            host,
            apps: [...apps]
                .map(([name, containers]) => ({
                    name,
                    processes: [...new Set(containers.map(c => c.process ?? "-"))].sort(),
                    containers: containers.sort(byName),
                }))
                .sort(byName),
        }))
        .sort((a, b) => byName({ name: a.stack }, { name: b.stack }));
}

/** The other stacks' apps on each host this stack owns, with each container's status. */
async function otherStacks(ctx: Context, now: number): Promise<OtherStack<ContainerStatus>[] | undefined> {
    const owned = ctx.model.hosts.filter(h => h.owned);
    if (owned.length === 0) return undefined;
    const found = await Promise.all(
        owned.map(async h => {
            const listed = await ctx
                .docker(h.name)
                .listContainers({ all: true, filters: { label: [`${LABEL.host}=${h.name}`, LABEL.app] } });
            return otherStacksOn(h.name, ctx.model.stack, listed);
        }),
    );
    return Promise.all(
        found.flat().map(async o => ({
            ...o,
            apps: await Promise.all(
                o.apps.map(async a => ({
                    ...a,
                    containers: await Promise.all(a.containers.map(c => status(ctx, c, now))),
                })),
            ),
        })),
    );
}

async function status(ctx: Context, c: ContainerInfo, now: number): Promise<ContainerStatus> {
    try {
        const i = await ctx
            .docker(c.host)
            .getContainer(c.id ?? c.name)
            .inspect();
        const started = i.State.Running ? Date.parse(i.State.StartedAt) : NaN;
        return {
            name: i.Name.replace(/^\//, ""),
            process: c.process,
            health: i.State.Health?.Status ?? i.State.Status,
            image: i.Image,
            restarts: i.RestartCount,
            startedAt: Number.isNaN(started) ? undefined : i.State.StartedAt,
            uptimeSeconds: Number.isNaN(started) ? undefined : Math.max(0, Math.round((now - started) / 1000)),
        };
    } catch (e) {
        if (!isNotFound(e)) throw e;
        return { name: c.name, process: c.process, health: "missing", image: c.image ?? "", restarts: 0 };
    }
}

async function scheduleStatus(
    ctx: Context,
    app: AppInfo,
    job: { name: string; cron: string },
): Promise<ScheduleStatus> {
    try {
        const i = await ctx.docker(app.host).getContainer(jobContainer(app.name, job.name)).inspect();
        const running = i.State.Running;
        return {
            ...job,
            lastRun: {
                startedAt: i.State.StartedAt,
                running,
                ...(running ? {} : { finishedAt: i.State.FinishedAt, exitCode: i.State.ExitCode }),
            },
        };
    } catch (e) {
        if (!isNotFound(e)) throw e;
        return { ...job };
    }
}

export async function ps(ctx: Context, appName?: string): Promise<PsResult> {
    const apps = appName === undefined ? ctx.model.apps : [findApp(ctx.model, appName)];
    const now = Date.now();
    const result: PsResult = {
        stack: ctx.model.stack,
        apps: await Promise.all(
            apps.map(async a => ({
                name: a.name,
                host: a.host,
                processes: processTypes(a),
                env: [...new Set(a.containers.flatMap(c => c.envKeys))].sort(),
                containers: await Promise.all(a.containers.map(c => status(ctx, c, now))),
                schedules: await Promise.all(a.schedules.map(j => scheduleStatus(ctx, a, j))),
            })),
        ),
        databases:
            appName !== undefined
                ? []
                : await Promise.all(
                      ctx.model.databases.map(async d => ({
                          name: d.name,
                          kind: d.kind,
                          host: d.host,
                          containers: await Promise.all(d.containers.map(c => status(ctx, c, now))),
                          backup: await backupStatus(ctx, d),
                      })),
                  ),
    };
    if (appName === undefined) {
        const others = await otherStacks(ctx, now);
        if (others !== undefined) result.otherStacks = others;
    }
    if (ctx.json) ctx.out(JSON.stringify(result, null, 2));
    else ctx.out(renderPs(result));
    return result;
}

export function duration(seconds: number | undefined): string {
    if (seconds === undefined) return "-";
    if (seconds < 60) return `${seconds}s`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
    return `${Math.floor(seconds / 86400)}d${Math.floor((seconds % 86400) / 3600)}h`;
}

export function table(rows: string[][]): string {
    const widths = rows[0].map((_, i) => Math.max(...rows.map(r => r[i].length)));
    return rows
        .map(r => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join("  "))
        .join("\n");
}

const shortImage = (image: string) => image.replace(/^sha256:/, "").slice(0, 12) || "-";

const CONTAINER_COLUMNS = ["CONTAINER", "HEALTH", "IMAGE", "RESTARTS", "UP"];

/** A container's columns, after those of what it belongs to. */
const containerRow = (first: string[], c: ContainerStatus) => [
    ...first,
    c.name,
    c.health,
    shortImage(c.image),
    String(c.restarts),
    duration(c.uptimeSeconds),
];

/** The other stacks' apps on each host this stack owns: one table per host. */
function renderOtherStacks(others: OtherStack<ContainerStatus>[]): string[] {
    const hosts = [...new Set(others.map(o => o.host))];
    if (hosts.length === 0) return ["no other stack runs apps on this stack's hosts"];
    return hosts.map(host => {
        const rows = [["STACK", "APP", "PROCESS", ...CONTAINER_COLUMNS]];
        for (const o of others.filter(x => x.host === host))
            for (const a of o.apps)
                for (const c of a.containers) rows.push(containerRow([o.stack, a.name, c.process ?? "-"], c));
        return `other stacks on host ${host}\n${table(rows)}`;
    });
}

function renderPs(r: PsResult): string {
    const rows: string[][] = [["NAME", "PROCESS", ...CONTAINER_COLUMNS]];
    for (const a of r.apps) for (const c of a.containers) rows.push(containerRow([a.name, c.process ?? "-"], c));
    for (const d of r.databases) for (const c of d.containers) rows.push(containerRow([d.name, d.kind], c));
    const env = r.apps.map(a => `${a.name} env: ${a.env.join(", ") || "(none)"}`);
    const jobs: string[][] = [["APP", "SCHEDULE", "CRON", "LAST RUN", "STATUS"]];
    for (const a of r.apps) {
        for (const j of a.schedules) {
            const last = j.lastRun;
            const state = !last
                ? "never run"
                : last.running
                  ? "running"
                  : last.exitCode === 0
                    ? "succeeded"
                    : `failed (exit ${last.exitCode})`;
            jobs.push([a.name, j.name, j.cron, last ? last.startedAt.replace(/\.\d+Z$/, "Z") : "-", state]);
        }
    }
    const backups: string[][] = [["DATABASE", "BACKUP TO", "LAST SUCCESS", "LAST FAILURE"]];
    for (const d of r.databases) {
        if (!d.backup) continue;
        const dests = Object.entries(d.backup.destinations);
        if (dests.length === 0) backups.push([d.name, "-", "never run", "-"]);
        for (const [dest, x] of dests) {
            backups.push([
                d.name,
                dest,
                x.lastSuccess ?? "never",
                x.lastFailure ? `${x.lastFailure}${x.lastError ? `: ${x.lastError}` : ""}` : "-",
            ]);
        }
    }
    return [
        `stack ${r.stack}`,
        table(rows),
        ...(jobs.length > 1 ? [table(jobs)] : []),
        ...(backups.length > 1 ? [table(backups)] : []),
        ...env,
        ...(r.otherStacks ? renderOtherStacks(r.otherStacks) : []),
    ].join("\n");
}

// -------------------------------------------------------------------------------------------- logs

export interface LogsOptions {
    process?: string;
    follow?: boolean;
    /** `10m`, `2h`, `30s`, `1d`, or a date. */
    since?: string;
    /** Lines per container, from the end. @default 100 */
    lines?: number;
}

/** `--since` as unix seconds. */
export function parseSince(since: string, now = Date.now()): number {
    const m = /^(\d+)(s|m|h|d)$/.exec(since);
    if (m) return Math.floor(now / 1000) - Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "s"];
    const t = Date.parse(since);
    if (Number.isNaN(t))
        throw new CliError(
            `--since "${since}" is not understood; give a duration (30s, 10m, 2h, 1d) or a date (2026-12-01T10:00:00Z)`,
        );
    return Math.floor(t / 1000);
}

interface LogLine {
    time: string;
    container: string;
    process?: string;
    stream: "stdout" | "stderr";
    line: string;
}

/** Splits a (demultiplexed) stream into timestamped lines. */
function lines(stream: Readable, onLine: (time: string, text: string) => void): Promise<void> {
    let rest = "";
    return new Promise((resolveDone, reject) => {
        stream.setEncoding("utf8");
        stream.on("data", (chunk: string) => {
            rest += chunk;
            let nl: number;
            while ((nl = rest.indexOf("\n")) >= 0) {
                const l = rest.slice(0, nl);
                rest = rest.slice(nl + 1);
                const sp = l.indexOf(" ");
                onLine(sp > 0 ? l.slice(0, sp) : "", sp > 0 ? l.slice(sp + 1) : l);
            }
        });
        stream.on("end", () => {
            if (rest) {
                const sp = rest.indexOf(" ");
                onLine(rest.slice(0, sp), rest.slice(sp + 1));
            }
            resolveDone();
        });
        stream.on("error", reject);
    });
}

export async function logs(ctx: Context, appName: string, opts: LogsOptions = {}): Promise<void> {
    const app = findApp(ctx.model, appName);
    const containers = containersOf(app, opts.process);
    const since = opts.since === undefined ? undefined : parseSince(opts.since);
    const print = (l: LogLine) =>
        ctx.out(ctx.json ? JSON.stringify(l) : `${l.time} ${l.process ?? app.name}[${l.container}]: ${l.line}`);
    const backlog: LogLine[] = [];
    let following = false;
    const followed = new Set<string>();
    const stream = async (c: ContainerInfo, tail: number | undefined) => {
        followed.add(c.id ?? c.name);
        const docker = ctx.docker(c.host);
        const container = docker.getContainer(c.id ?? c.name);
        const common = {
            stdout: true,
            stderr: true,
            timestamps: true,
            tail: tail ?? opts.lines ?? 100,
            ...(since === undefined ? {} : { since }),
        };
        let raw: NodeJS.ReadableStream;
        try {
            raw = opts.follow
                ? await container.logs({ ...common, follow: true })
                : Readable.from([await container.logs({ ...common, follow: false })]);
        } catch (e) {
            if (isNotFound(e)) {
                ctx.progress(`container ${c.name} is gone (redeployed since the state was read?)`);
                return;
            }
            throw e;
        }
        const out = new PassThrough();
        const err = new PassThrough();
        docker.modem.demuxStream(raw, out, err);
        raw.on("end", () => {
            out.end();
            err.end();
        });
        const emit = (stream: LogLine["stream"]) => (time: string, line: string) => {
            const l: LogLine = { time, container: c.name, process: c.process, stream, line };
            if (following) print(l);
            else backlog.push(l);
        };
        await Promise.all([lines(out, emit("stdout")), lines(err, emit("stderr"))]);
    };
    const streams = containers.map(c => stream(c, undefined));
    if (opts.follow) {
        // Containers a deploy (or a scheduled job) starts while we follow are followed too, from their start.
        const hosts = [...new Set(containers.map(c => c.host))];
        const started = hosts.map(host =>
            followStarts(ctx, app, host, opts.process, c => {
                if (!followed.has(c.id ?? c.name))
                    void stream(c, 0).catch(e => ctx.progress(`${c.name}: ${(e as Error).message}`));
            }),
        );
        // The backlog every container returns at once is printed in time order, then lines as they come.
        await new Promise(r => setTimeout(r, 500));
        flush(backlog, print);
        following = true;
        await Promise.all([...streams, ...started]);
    } else {
        await Promise.all(streams);
        flush(backlog, print);
    }
}

/**
 * Calls `onStart` for each container of the app (of process type `type`, when given; never a `dropyard run`
 * container) that starts on `host`, from Docker's event stream, until the stream ends.
 */
async function followStarts(
    ctx: Context,
    app: AppInfo,
    host: string,
    type: string | undefined,
    onStart: (c: ContainerInfo) => void,
): Promise<void> {
    const label = [`${LABEL.app}=${app.name}`, ...(type !== undefined ? [`${LABEL.process}=${type}`] : [])];
    const events = await ctx.docker(host).getEvents({ filters: { type: ["container"], event: ["start"], label } });
    await lines(events as unknown as Readable, (first, rest) => {
        let e: { id?: string; Actor?: { Attributes?: Record<string, string> } };
        try {
            e = JSON.parse(`${first} ${rest}`);
        } catch {
            return;
        }
        const attrs = e.Actor?.Attributes ?? {};
        if (!e.id || attrs[LABEL.role] === "run") return;
        onStart({
            resource: attrs.name ?? e.id,
            name: attrs.name ?? e.id,
            id: e.id,
            process: attrs[LABEL.process],
            envKeys: [],
            host,
        });
    });
}

function flush(backlog: LogLine[], print: (l: LogLine) => void): void {
    backlog.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0)).forEach(print);
    backlog.length = 0;
}

// --------------------------------------------------------------------------------------- run, exec

/** The running container of the app to start from: of `type`, else `web`, else any. */
async function runningContainer(
    ctx: Context,
    app: AppInfo,
    type: string | undefined,
): Promise<{ c: ContainerInfo; info: Docker.ContainerInspectInfo }> {
    const candidates =
        type !== undefined
            ? containersOf(app, type)
            : [...app.containers].sort((a, b) => Number(b.process === "web") - Number(a.process === "web"));
    for (const c of candidates) {
        try {
            const info = await ctx
                .docker(c.host)
                .getContainer(c.id ?? c.name)
                .inspect();
            if (info.State.Running) return { c, info };
        } catch (e) {
            if (!isNotFound(e)) throw e;
        }
    }
    throw new CliError(
        `app "${app.name}" has no running container${type ? ` of process type "${type}"` : ""} (${list(candidates.map(c => c.name))}); see \`dropyard ps ${app.name}\``,
    );
}

/** Pipes a container's attached stream to the terminal; returns when it ends. */
function attachTo(ctx: Context, docker: Docker, stream: NodeJS.ReadWriteStream, tty: boolean): Promise<void> {
    if (tty) stream.pipe(ctx.io.stdout as NodeJS.WritableStream, { end: false });
    else docker.modem.demuxStream(stream, ctx.io.stdout, ctx.io.stderr);
    return new Promise(r => {
        stream.on("end", r);
        stream.on("close", r);
        stream.on("error", () => r());
    });
}

function withTerminal<T>(
    ctx: Context,
    stream: NodeJS.ReadWriteStream,
    tty: boolean,
    body: () => Promise<T>,
): Promise<T> {
    if (tty) {
        ctx.io.stdin.setRawMode?.(true);
        ctx.io.stdin.pipe(stream);
    }
    return body().finally(() => {
        if (tty) {
            ctx.io.stdin.unpipe(stream);
            ctx.io.stdin.setRawMode?.(false);
            (ctx.io.stdin as unknown as { pause?: () => void }).pause?.();
        }
    });
}

/**
 * A one-off container of the app's current release (the image its running container uses), with its
 * environment, volumes and networks but not the edge's; removed afterwards. Returns the command's exit status.
 */
export async function run(ctx: Context, appName: string, cmd: string[]): Promise<number> {
    const app = findApp(ctx.model, appName);
    if (cmd.length === 0) throw new CliError(`run: give the command to run, e.g. \`dropyard run ${app.name} -- sh\``);
    const { c, info } = await runningContainer(ctx, app, undefined);
    const docker = ctx.docker(c.host);
    const edge = await docker.listContainers({ filters: { label: [`${LABEL.role}=edge`] } });
    const edgeNets = new Set(edge.flatMap(e => Object.keys(e.NetworkSettings?.Networks ?? {})));
    const networks = Object.keys(info.NetworkSettings.Networks ?? {}).filter(n => !edgeNets.has(n));
    const tty = Boolean(ctx.io.stdin.isTTY && ctx.io.stdout.isTTY);
    ctx.progress(
        `starting a one-off container of ${app.name} (image ${shortImage(info.Image)}) on ${networks.join(", ") || "no network"}`,
    );
    const one = await docker.createContainer({
        Image: info.Image,
        Cmd: cmd,
        Env: info.Config.Env,
        WorkingDir: info.Config.WorkingDir || undefined,
        User: info.Config.User || undefined,
        Tty: tty,
        OpenStdin: tty,
        StdinOnce: tty,
        AttachStdin: tty,
        AttachStdout: true,
        AttachStderr: true,
        Labels: { [LABEL.app]: app.name, [LABEL.role]: "run" },
        // The app's volumes too, as `dokku run` mounts the app's storage.
        HostConfig: {
            NetworkMode: networks[0] ?? "none",
            Binds: info.HostConfig.Binds ?? undefined,
            Mounts: info.HostConfig.Mounts,
            VolumesFrom: info.HostConfig.VolumesFrom ?? undefined,
        },
    });
    const cleanup = () => one.remove({ force: true }).catch(() => undefined);
    const onSignal = () => {
        void cleanup().then(() => process.exit(130));
    };
    process.once("SIGINT", onSignal);
    try {
        for (const n of networks.slice(1)) await docker.getNetwork(n).connect({ Container: one.id });
        const stream = await one.attach({ stream: true, stdin: tty, stdout: true, stderr: true, hijack: tty });
        return await withTerminal(ctx, stream, tty, async () => {
            const ended = attachTo(ctx, docker, stream, tty);
            await one.start();
            const { StatusCode } = (await one.wait()) as { StatusCode: number };
            await Promise.race([ended, new Promise(r => setTimeout(r, 2000))]);
            return StatusCode;
        });
    } finally {
        process.removeListener("SIGINT", onSignal);
        await cleanup();
    }
}

/** A command in a running container of the app (of process type `type`, else web). Returns its exit status. */
export async function exec(ctx: Context, appName: string, type: string | undefined, cmd: string[]): Promise<number> {
    const app = findApp(ctx.model, appName);
    if (type !== undefined) containersOf(app, type); // an unknown type fails before any host is asked
    if (cmd.length === 0) throw new CliError(`exec: give the command to run, e.g. \`dropyard exec ${app.name} -- sh\``);
    const { c } = await runningContainer(ctx, app, type);
    const docker = ctx.docker(c.host);
    const tty = Boolean(ctx.io.stdin.isTTY && ctx.io.stdout.isTTY);
    const e = await docker
        .getContainer(c.id ?? c.name)
        .exec({ Cmd: cmd, AttachStdin: tty, AttachStdout: true, AttachStderr: true, Tty: tty });
    const stream = await e.start({ hijack: true, stdin: tty, Tty: tty });
    await withTerminal(ctx, stream, tty, () => attachTo(ctx, docker, stream, tty));
    const { ExitCode } = await e.inspect();
    return ExitCode ?? 1;
}
