// Where the CPU went while a method deployed: each container's CPU seconds by its role (the app serving before,
// the new one, the release command, the edge, the rest), Docker's daemons', the bench's own process (the sandbox's
// Pulumi engine) and its children (the host commands), the load generator's, and what stayed idle. Containers come
// and go during a deploy, so their cgroups are read every 100 ms and each one's last reading counts.
import { readdirSync, readFileSync } from "node:fs";
import { LABEL } from "../lib/labels";
import { Engine } from "../sandbox/docker";
import { containerMs, daemonMsByPid, parseProcStat, processMs, TICK_MS } from "./cpu";

/** A container's part in the deploy. */
export type Role = "old_app" | "new_app" | "release" | "edge" | "other_containers";

/** CPU seconds over a window, by where they went (all cores together). */
export interface CpuParts extends Record<Role, number> {
    /** Docker's daemons (dockerd, containerd, the shims and the runc they reaped), each to its last reading. */
    readonly engine: number;
    /**
     * The bench's own process: the sandbox's Pulumi engine (the deploying tool, which for a real droplet runs on the
     * developer's machine) and the bench's measuring.
     */
    readonly bench_process: number;
    /** The children the bench's process reaped: the host commands (bash, the docker CLI), docker-compose. */
    readonly bench_children: number;
    /** The load generators. */
    readonly generator: number;
    readonly idle: number;
}

export interface WindowCpu {
    readonly parts: CpuParts;
    /** The window's length in seconds. */
    readonly seconds: number;
}

/**
 * Each role's CPU seconds from the containers' readings in ms: `atStart` (a container missing there was made
 * during the window and counts from 0) and the `last` of each.
 */
export function tallyContainers(
    atStart: ReadonlyMap<string, number>,
    last: ReadonlyMap<string, number>,
    roles: ReadonlyMap<string, Role>,
): Record<Role, number> {
    const sums: Record<Role, number> = { old_app: 0, new_app: 0, release: 0, edge: 0, other_containers: 0 };
    for (const [id, ms] of last) sums[roles.get(id) ?? "other_containers"] += (ms - (atStart.get(id) ?? 0)) / 1000;
    return sums;
}

export interface CpuSampler {
    stop(): Promise<WindowCpu>;
}

/** The full ids of the containers with a CPU cgroup (v1 cgroupfs, v2 cgroupfs or v2 systemd). */
function containerIds(): string[] {
    const layouts: [string, RegExp][] = [
        ["/sys/fs/cgroup/cpuacct/docker", /^([0-9a-f]{64})$/],
        ["/sys/fs/cgroup/docker", /^([0-9a-f]{64})$/],
        ["/sys/fs/cgroup/system.slice", /^docker-([0-9a-f]{64})\.scope$/],
    ];
    for (const [dir, pattern] of layouts) {
        try {
            return readdirSync(dir).flatMap(d => pattern.exec(d)?.[1] ?? []);
        } catch {
            /* the next layout */
        }
    }
    return [];
}

const idleMs = () =>
    parseProcStat(readFileSync("/proc/stat", "utf8")).reduce((a, c) => a + (c.total - c.busy), 0) * TICK_MS;

/**
 * Starts reading. `isApp` tells the method's app containers by name (one present at the start is the old one, one
 * made later the new one, even under the same name); `edge` is the edge's name; `generators` the load's processes.
 */
export function sampleCpu(isApp: (name: string) => boolean, edge: string, generators: readonly number[]): CpuSampler {
    const engine = Engine.local();
    const startedMs = Date.now();
    const atStart = new Map(containerIds().map(id => [id, containerMs(id)]));
    const last = new Map(atStart);
    const roles = new Map<string, Promise<Role>>();
    const before = { self: processMs(process.pid, false), all: processMs(process.pid, true), idle: idleMs() };
    // A shim ends with its container, and its CPU time with it: each daemon's last reading counts.
    const daemonsAtStart = daemonMsByPid();
    const daemonsLast = new Map(daemonsAtStart);
    const generatorBefore = generators.map(p => processMs(p, false));
    const roleOf = async (id: string): Promise<Role> => {
        const c = await engine.containerInspect(id).catch(() => undefined);
        const name = c?.Name.replace(/^\//, "") ?? "";
        if (c?.Config.Labels?.[LABEL.process] === "release") return "release";
        if (name === edge) return "edge";
        if (isApp(name)) return atStart.has(id) ? "old_app" : "new_app";
        return "other_containers";
    };
    const read = () => {
        for (const [pid, ms] of daemonMsByPid()) daemonsLast.set(pid, ms);
        for (const id of containerIds()) {
            const ms = containerMs(id);
            if (Number.isNaN(ms)) continue;
            last.set(id, ms);
            if (!roles.has(id)) roles.set(id, roleOf(id));
        }
    };
    read();
    const timer = setInterval(read, 100);
    return {
        stop: async () => {
            clearInterval(timer);
            read();
            const after = { self: processMs(process.pid, false), all: processMs(process.pid, true), idle: idleMs() };
            const seconds = (Date.now() - startedMs) / 1000;
            const generatorMs = generators.reduce((a, p, i) => a + processMs(p, false) - generatorBefore[i], 0);
            const resolved = new Map<string, Role>();
            for (const id of last.keys()) resolved.set(id, await (roles.get(id) ?? roleOf(id)));
            return {
                parts: {
                    ...tallyContainers(atStart, last, resolved),
                    engine:
                        [...daemonsLast].reduce((a, [pid, ms]) => a + ms - (daemonsAtStart.get(pid) ?? 0), 0) / 1000,
                    bench_process: (after.self - before.self) / 1000,
                    bench_children: (after.all - after.self - (before.all - before.self)) / 1000,
                    generator: generatorMs / 1000,
                    idle: (after.idle - before.idle) / 1000,
                },
                seconds,
            };
        },
    };
}
