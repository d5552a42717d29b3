// The docker CLI for end-to-end tests, plus polling: small wrappers that fail with docker's own message.
import { execFileSync, spawnSync } from "node:child_process";

/** docker CLI, synchronously; returns trimmed stdout, throws with stderr in the message. */
export function docker(...args: string[]): string {
    const r = spawnSync("docker", args, { encoding: "utf8", maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`docker ${args.join(" ")} exited ${r.status}: ${r.stderr}${r.stdout}`.trim());
    return r.stdout.trim();
}

/** docker CLI when failing is an answer too: the exit status and both streams. */
export function dockerResult(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync("docker", args, { encoding: "utf8", maxBuffer: 64 << 20 });
    return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

/** Whether a docker command exits 0. */
export function dockerOk(...args: string[]): boolean {
    return spawnSync("docker", args, { stdio: "ignore" }).status === 0;
}

/** Names of the containers (running or not) matching a `docker ps` filter. */
export function containersWhere(filter: string): string[] {
    return docker("ps", "-a", "--filter", filter, "--format", "{{.Names}}").split("\n").filter(Boolean);
}

/** Runs a command in a container; returns trimmed stdout. */
export function exec(container: string, ...command: string[]): string {
    return docker("exec", container, ...command);
}

/** A query through psql inside a Postgres container, as the database's owner over its socket: unaligned, tuples only. */
export function psql(container: string, user: string, database: string, sql: string): string {
    return docker("exec", container, "psql", "-U", user, "-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql);
}

/** A query through the mariadb client inside a MariaDB container, as root (its password is in the container's env). */
export function mariadb(container: string, database: string, sql: string): string {
    return docker("exec", container, "sh", "-c", 'exec mariadb -uroot -p"$MARIADB_ROOT_PASSWORD" -N -B "$0" -e "$1"', database, sql);
}

/** Polls `fn` until it returns a truthy value; fails with the last error after `seconds`. */
export async function until<T>(what: string, seconds: number, fn: () => Promise<T | undefined | false> | T | undefined | false,
    intervalMs = 250): Promise<T> {
    const end = Date.now() + seconds * 1000;
    let last: unknown = "never truthy";
    for (;;) {
        try {
            const v = await fn();
            if (v) return v;
        } catch (e) {
            last = e;
        }
        if (Date.now() > end) throw new Error(`${what}: not within ${seconds}s; last: ${last instanceof Error ? last.message : String(last)}`);
        await new Promise(r => setTimeout(r, intervalMs));
    }
}

/**
 * Kills a container's main process with SIGKILL from the host, as a crash or the kernel's OOM killer
 * would. (`docker kill` would not do: Docker counts it as an operator's stop, and no restart policy
 * restarts a container stopped that way.) Returns when the process is gone.
 */
export function crash(container: string): void {
    const pid = Number(docker("inspect", "-f", "{{.State.Pid}}", container));
    if (!(pid > 0)) throw new Error(`${container} is not running (pid ${pid})`);
    execFileSync("kill", ["-KILL", String(pid)]);
}

/** How many times the engine restarted a container, and whether it runs now. */
export function restartState(container: string): { restarts: number; running: boolean } {
    const [restarts, running] = docker("inspect", "-f", "{{.RestartCount}} {{.State.Running}}", container).split(" ");
    return { restarts: Number(restarts), running: running === "true" };
}
