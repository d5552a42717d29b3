// Where the CPU went during a run: each core's busy time (/proc/stat), the CPU time of given containers (their
// cgroup's cpuacct or cpu.stat) and of Docker's own daemons (dockerd, containerd and the shims, which copy every
// line a container prints into its log). Read before and after a run; `cpuShare` turns two readings into figures.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface CpuReading {
    /** Busy and total jiffies per core (cpu0, cpu1, ...). */
    readonly cores: { busy: number; total: number }[];
    /** CPU time in ms per container id. */
    readonly containers: Record<string, number>;
    /** CPU time in ms of dockerd, containerd and containerd-shim processes together. */
    readonly daemonsMs: number;
}

export const TICK_MS = 10; // USER_HZ is 100 on Linux

/** One core's line of /proc/stat: busy = everything but idle and iowait. */
export function parseProcStat(text: string): { busy: number; total: number }[] {
    return text
        .split("\n")
        .filter(l => /^cpu\d+ /.test(l))
        .map(l => {
            const v = l.trim().split(/\s+/).slice(1, 9).map(Number);
            const total = v.reduce((a, b) => a + b, 0);
            return { busy: total - v[3] - v[4], total };
        });
}

/** A container's CPU time in ms from its cgroup (v1 cgroupfs, v2 cgroupfs or v2 systemd); NaN when not found. */
export function containerMs(id: string): number {
    const tries: [string, (t: string) => number][] = [
        [`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, t => Number(t) / 1e6],
        [`/sys/fs/cgroup/docker/${id}/cpu.stat`, t => Number(t.match(/usage_usec (\d+)/)?.[1]) / 1e3],
        [
            `/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`,
            t => Number(t.match(/usage_usec (\d+)/)?.[1]) / 1e3,
        ],
    ];
    for (const [path, parse] of tries) {
        try {
            return parse(readFileSync(path, "utf8"));
        } catch {
            /* the next layout */
        }
    }
    return NaN;
}

/** Docker's daemons: the /proc/<pid>/stat text of each dockerd, containerd and containerd-shim process. */
function daemonStats(): Map<number, string> {
    const stats = new Map<number, string>();
    for (const pid of readdirSync("/proc").filter(d => /^\d+$/.test(d))) {
        try {
            const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
            const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
            if (/^(dockerd|containerd|containerd-shim.*)$/.test(comm)) stats.set(Number(pid), stat);
        } catch {
            /* ended meanwhile */
        }
    }
    return stats;
}

const daemonPids = () => [...daemonStats().keys()];

/** utime and stime of a /proc/<pid>/stat text, and with `children` its reaped children's too, in ticks. */
function statTicks(stat: string, children: boolean): number {
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
}

/** Each of Docker's daemons' CPU time in ms, by pid. */
export function daemonMsByPid(): Map<number, number> {
    return new Map([...daemonStats()].map(([pid, stat]) => [pid, statTicks(stat, false) * TICK_MS]));
}

function daemonsMs(): number {
    return [...daemonMsByPid().values()].reduce((a, b) => a + b, 0);
}

/** A process's CPU time in ms, with `children` that of the children it waited for; 0 once it ended. */
export function processMs(pid: number, children: boolean): number {
    try {
        return statTicks(readFileSync(`/proc/${pid}/stat`, "utf8"), children) * TICK_MS;
    } catch {
        return 0;
    }
}

/** Reads the cores, the containers (full ids) and Docker's daemons now. */
export function readCpu(containerIds: readonly string[]): CpuReading {
    return {
        cores: parseProcStat(readFileSync("/proc/stat", "utf8")),
        containers: Object.fromEntries(containerIds.map(id => [id, containerMs(id)])),
        daemonsMs: daemonsMs(),
    };
}

export interface CpuShare {
    /** Percent busy per core over the run. */
    readonly coreBusyPercent: number[];
    /** CPU µs per request of each container (by the name given). */
    readonly perRequestUs: Record<string, number>;
    /** CPU µs per request of Docker's daemons. */
    readonly daemonsPerRequestUs: number;
}

/** The share between two readings of a run that answered `requests` requests; `names` maps container ids to names. */
export function cpuShare(
    a: CpuReading,
    b: CpuReading,
    requests: number,
    names: Readonly<Record<string, string>>,
): CpuShare {
    const per = (ms: number) => (ms * 1000) / requests;
    return {
        coreBusyPercent: b.cores.map((c, i) => {
            const total = c.total - (a.cores[i]?.total ?? 0);
            return total > 0 ? (100 * (c.busy - (a.cores[i]?.busy ?? 0))) / total : NaN;
        }),
        perRequestUs: Object.fromEntries(
            Object.entries(names).map(([id, name]) => [name, per(b.containers[id] - a.containers[id])]),
        ),
        daemonsPerRequestUs: per(b.daemonsMs - a.daemonsMs),
    };
}

/** A cgroup of the CPU controller at the root, `name`, with the weight of Docker's containers together. */
function rootGroup(name: string): { root: string; dir: string } {
    const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
    const root = v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/cpu";
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true });
    if (v2) writeFileSync(join(dir, "cpu.weight"), "100");
    else writeFileSync(join(dir, "cpu.shares"), "1024");
    return { root, dir };
}

/** Moves each process into the cgroup `dir` (one write each: a process that ended meanwhile is skipped). */
function moveInto(dir: string, pids: readonly number[]): void {
    for (const pid of pids) {
        try {
            writeFileSync(join(dir, "cgroup.procs"), `${pid}\n`);
        } catch {
            /* ended meanwhile */
        }
    }
}

/** The processes in the cgroup `dir`. */
const procsIn = (dir: string) =>
    readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);

/**
 * Puts this process (the bench: its load generators, the deploying tool and every child started later) into a
 * cgroup of its own with the CPU weight of Docker's containers together, and returns a function that moves it
 * back. On a host, the load comes from elsewhere and systemd weighs the containers' slice against the host's
 * other services; in this sandbox (no systemd, cgroup v1 or v2) each busy thread in the root cgroup would weigh
 * as much as all the containers together, so the generator's threads would take the app's CPU.
 */
export function joinClientGroup(): () => void {
    const { root, dir } = rootGroup("dropyard-bench-client");
    moveInto(dir, [process.pid]);
    return () => moveInto(root, [process.pid]);
}

/**
 * Puts Docker's daemons (dockerd, containerd and the shims, and so the runc each shim starts for an exec) into a
 * cgroup of their own with the same weight, and returns a function that moves whatever is in it back. On a host
 * systemd runs them as services, each weighed as one beside the containers; here each busy daemon thread in the
 * root cgroup would weigh as much as all the containers together, and a deploy's engine work (a container made,
 * an exec) would take the serving app's CPU out of all proportion. The containers' own processes stay where they are.
 */
export function groupEngine(): () => void {
    const { root, dir } = rootGroup("dropyard-bench-engine");
    const pids = daemonPids();
    moveInto(dir, pids);
    const moved = procsIn(dir);
    const left = pids.filter(p => existsSync(`/proc/${p}`) && !moved.includes(p));
    if (pids.length === 0 || left.length > 0)
        throw new Error(`groupEngine: Docker's daemons (${pids.join(" ") || "none found"}) not all moved to ${dir}`);
    return () => moveInto(root, procsIn(dir));
}
