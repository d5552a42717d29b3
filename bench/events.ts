// What the engine did during a deploy, with times: `docker events` read as it happens, and for every new
// container whose name matches, the moment its port first accepts a connection (the app's own boot,
// measured from outside, independent of how a deploy method checks health).
import { ChildProcess, spawn } from "node:child_process";
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { Engine } from "../sandbox/docker";

export interface EngineEvent {
    readonly atMs: number;
    /** "container" and its action (create, start, kill, die, health_status: healthy, exec_start: nginx -s reload, …) */
    readonly type: string;
    readonly action: string;
    /** The container's name. */
    readonly name: string;
}

interface DockerEvent {
    Type: string;
    Action: string;
    Actor: { Attributes?: Record<string, string> };
    timeNano: number;
}

/** Reads one `docker events --format '{{json .}}'` line. */
export function parseEvent(line: string): EngineEvent {
    const e = JSON.parse(line) as DockerEvent;
    return { atMs: e.timeNano / 1e6, type: e.Type, action: e.Action, name: e.Actor.Attributes?.name ?? "" };
}

export interface Watch {
    /** Ends the watch: the events seen and when each watched container first accepted a connection. */
    stop(): Promise<{ events: EngineEvent[]; ready: Record<string, number> }>;
}

const engine = Engine.local();

/** Does `ip:port` accept a TCP connection within 200 ms? */
export function accepts(ip: string, port: number): Promise<boolean> {
    return new Promise(resolve => {
        const s = connect({ host: ip, port, timeout: 200 });
        const done = (ok: boolean) => {
            s.destroy();
            resolve(ok);
        };
        s.on("connect", () => done(true))
            .on("error", () => done(false))
            .on("timeout", () => done(false));
    });
}

/** Starts reading the engine's events; containers named like `watch` that start are probed on `port` every 20 ms. */
export function watchEngine(watch: RegExp, network: string, port: number): Watch {
    const events: EngineEvent[] = [];
    const ready: Record<string, number> = {};
    const probes: Promise<void>[] = [];
    let stopped = false;
    const probe = async (name: string) => {
        const ip = (await engine.containerInspect(name))?.NetworkSettings.Networks[network]?.IPAddress;
        if (!ip) return;
        while (!stopped && ready[name] === undefined) {
            if (await accepts(ip, port)) ready[name] = Date.now();
            else await sleep(20);
        }
    };
    const child: ChildProcess = spawn("docker", ["events", "--format", "{{json .}}"], {
        stdio: ["ignore", "pipe", "ignore"],
    });
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split("\n");
        buf = lines.pop()!;
        for (const l of lines.filter(x => x.trim())) {
            const e = parseEvent(l);
            events.push(e);
            if (e.type === "container" && e.action === "start" && watch.test(e.name)) probes.push(probe(e.name));
        }
    });
    return {
        stop: async () => {
            await sleep(300); // the last events arrive a little after the fact
            stopped = true;
            child.kill();
            await Promise.all(probes);
            return { events, ready };
        },
    };
}
