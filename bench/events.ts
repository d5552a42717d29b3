// What the engine did during a deploy, with times: `docker events` read as it happens, and for every new
// container whose name matches, the moment its port first accepts a connection (the app's own boot,
// measured from outside, independent of how a deploy method checks health).
import { ChildProcess, spawn } from "node:child_process";
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { LABEL } from "../lib/labels";
import { Engine } from "../sandbox/docker";

export interface EngineEvent {
    readonly atMs: number;
    /** "container" and its action (create, start, kill, die, health_status: healthy, exec_start: nginx -s reload, …) */
    readonly type: string;
    readonly action: string;
    /** The container's name. */
    readonly name: string;
    /** Its dropyard process label (`web`, `release`, a worker type), or "" (Docker names release containers). */
    readonly process: string;
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
    const attributes = e.Actor.Attributes ?? {};
    return {
        atMs: e.timeNano / 1e6,
        type: e.Type,
        action: e.Action,
        name: attributes.name ?? "",
        process: attributes[LABEL.process] ?? "",
    };
}

export interface Watch {
    /**
     * Ends the watch: the events seen, when each watched container first accepted a connection (`ready`) and
     * when it first answered an HTTP request (`answers`).
     */
    stop(): Promise<{ events: EngineEvent[]; ready: Record<string, number>; answers: Record<string, number> }>;
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

/**
 * Does `ip:port` answer `HEAD /` with a status line within `timeoutMs`? A server that binds its port before its
 * workers have loaded the app (gunicorn) accepts the connection at once and answers only once a worker is up.
 */
export function answers(ip: string, port: number, timeoutMs: number): Promise<boolean> {
    return new Promise(resolve => {
        const s = connect({ host: ip, port });
        const timer = setTimeout(() => done(false), timeoutMs);
        const done = (ok: boolean) => {
            clearTimeout(timer);
            s.destroy();
            resolve(ok);
        };
        s.on("connect", () => s.write("HEAD / HTTP/1.0\r\n\r\n"))
            .on("data", (d: Buffer) => done(d.toString().startsWith("HTTP/")))
            .on("error", () => done(false));
    });
}

/** Starts reading the engine's events; containers named like `watch` that start are probed on `port` every 20 ms. */
export function watchEngine(watch: RegExp, network: string, port: number): Watch {
    const events: EngineEvent[] = [];
    const ready: Record<string, number> = {};
    const answered: Record<string, number> = {};
    const probes: Promise<void>[] = [];
    let stopped = false;
    const probe = async (name: string) => {
        const ip = (await engine.containerInspect(name))?.NetworkSettings.Networks[network]?.IPAddress;
        if (!ip) return;
        while (!stopped && ready[name] === undefined) {
            if (await accepts(ip, port)) ready[name] = Date.now();
            else await sleep(20);
        }
        while (!stopped && answered[name] === undefined) {
            if (await answers(ip, port, 1000)) answered[name] = Date.now();
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
            return { events, ready, answers: answered };
        },
    };
}
