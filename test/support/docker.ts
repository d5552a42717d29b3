// The Docker engine as the end-to-end tests see it, through the sandbox's own client (dockerode): the
// containers of a filter, inspect, exec (psql, mariadb), events, a crash. The docker CLI stays for what
// is tested the way a user types it (`docker run` of a stand-in image with its flags) or run as one would
// by hand (Pebble, a throwaway wget on a network): `docker` and `dockerResult`.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type Docker from "dockerode";
import { Engine } from "../../sandbox/docker";

export const engine = Engine.local();

const run = promisify(execFile);

/** The docker CLI; resolves with trimmed stdout, rejects with docker's stderr in the message. */
export async function docker(...args: string[]): Promise<string> {
    const r = await dockerResult(...args);
    if (r.status !== 0) throw new Error(`docker ${args.join(" ")} exited ${r.status}: ${r.stderr}${r.stdout}`.trim());
    return r.stdout;
}

/** The docker CLI when failing is an answer too: the exit status and both streams (trimmed). */
export async function dockerResult(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
    try {
        const r = await run("docker", args, { maxBuffer: 64 << 20, encoding: "utf8" });
        return { status: 0, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
    } catch (e) {
        const err = e as { code?: number | string; stdout?: string; stderr?: string; message: string };
        if (typeof err.code !== "number") throw e;
        return { status: err.code, stdout: (err.stdout ?? "").trim(), stderr: (err.stderr ?? "").trim() };
    }
}

/** Containers (running or not, newest first) matching `docker ps`-style filters, e.g. `{ label: ["a=b"] }`. */
export async function containers(filters: Record<string, string[]>): Promise<Docker.ContainerInfo[]> {
    return engine.docker.listContainers({ all: true, filters });
}

/** Names of the containers (running or not, newest first) matching a `docker ps` filter, e.g. `label=a=b`. */
export async function containersWhere(...filters: string[]): Promise<string[]> {
    const byKey: Record<string, string[]> = {};
    for (const f of filters) {
        const eq = f.indexOf("=");
        (byKey[f.slice(0, eq)] ??= []).push(f.slice(eq + 1));
    }
    return (await containers(byKey)).map(c => c.Names[0].replace(/^\//, ""));
}

/** The one running container matching the filters; fails naming what it found otherwise. */
export async function theContainer(...filters: string[]): Promise<string> {
    const names = await containersWhere("status=running", ...filters);
    if (names.length !== 1)
        throw new Error(`one running container for ${filters.join(" ")}, found: ${names.join(", ") || "none"}`);
    return names[0];
}

/** `docker inspect` of a container; fails when there is none. */
export async function inspect(container: string): Promise<Docker.ContainerInspectInfo> {
    const c = await engine.containerInspect(container);
    if (!c) throw new Error(`no container ${container}`);
    return c;
}

/** A container's IPv4 address on a network; fails when it has none there. */
export async function ipOn(container: string, network: string): Promise<string> {
    const ip = (await inspect(container)).NetworkSettings.Networks[network]?.IPAddress ?? "";
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) throw new Error(`${container} has no address on ${network}`);
    return ip;
}

/** Runs a command in a container (`docker exec`): its exit code and both streams. */
export function execResult(
    container: string,
    ...command: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
    return engine.exec(container, command);
}

/** Runs a command in a container; returns trimmed stdout, fails with its output unless it exits 0. */
export async function exec(container: string, ...command: string[]): Promise<string> {
    const r = await engine.exec(container, command);
    if (r.code !== 0)
        throw new Error(
            `docker exec ${container} ${command.join(" ")} exited ${r.code}: ${r.stderr}${r.stdout}`.trim(),
        );
    return r.stdout.trim();
}

/**
 * A query through psql inside a Postgres container, as the database's owner over its socket: unaligned, tuples only.
 */
export function psql(container: string, user: string, database: string, sql: string): Promise<string> {
    return exec(container, "psql", "-U", user, "-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql);
}

/** A query through the mariadb client inside a MariaDB container, as root (its password is in the container's env). */
export function mariadb(container: string, database: string, sql: string): Promise<string> {
    return exec(
        container,
        "sh",
        "-c",
        'exec mariadb -uroot -p"$MARIADB_ROOT_PASSWORD" -N -B "$0" -e "$1"',
        database,
        sql,
    );
}

/**
 * The engine's events between two instants (ms since the epoch) for the filters, as `<name> <action>`
 * lines, in order (`docker events --since --until --format '{{.Actor.Attributes.name}} {{.Action}}'`).
 */
export async function events(sinceMs: number, untilMs: number, filters: Record<string, string[]>): Promise<string[]> {
    const stream = await engine.docker.getEvents({
        since: sinceMs / 1000,
        until: untilMs / 1000,
        filters,
    } as Docker.GetEventsOptions);
    const chunks: Buffer[] = [];
    for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
    return Buffer.concat(chunks)
        .toString("utf8")
        .split("\n")
        .filter(Boolean)
        .map(l => JSON.parse(l) as { Action: string; Actor?: { Attributes?: Record<string, string> } })
        .map(e => `${e.Actor?.Attributes?.name ?? ""} ${e.Action}`);
}

/**
 * Kills a container's main process with SIGKILL from the host, as a crash or the kernel's OOM killer
 * would. (`docker kill` would not do: Docker counts it as an operator's stop, and no restart policy
 * restarts a container stopped that way.) Returns when the process is gone.
 */
export async function crash(container: string): Promise<void> {
    const pid = (await inspect(container)).State.Pid;
    if (!(pid > 0)) throw new Error(`${container} is not running (pid ${pid})`);
    process.kill(pid, "SIGKILL");
}

/** How many times the engine restarted a container, and whether it runs now. */
export async function restartState(container: string): Promise<{ restarts: number; running: boolean }> {
    const c = await inspect(container);
    return { restarts: c.RestartCount, running: c.State.Running };
}
