// The load generator: Debian's `hey` (installed when missing), run as a child process and read from
// its summary. Shared by `npm run bench` and test/e2e/zero-downtime.test.ts. A request counts as
// failed when hey reports an error for it (refused or reset connection, timeout) or its status is 5xx.
import { ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

export const HEY = "/usr/bin/hey";

/** Installs Debian's hey when it is missing (apt-get; the package lists are refreshed only if needed). */
export function ensureHey(): void {
    if (existsSync(HEY)) return;
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const install = () =>
        spawnSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "hey"], { env, stdio: "ignore" })
            .status === 0;
    if (!install()) {
        execFileSync("apt-get", ["update", "-qq"], { env, stdio: "ignore" });
        if (!install()) throw new Error("could not install Debian's hey (apt-get install hey)");
    }
}

export interface HeyResult {
    /** Requests that got a response or an error. */
    total: number;
    /** Responses by status code. */
    statuses: Record<string, number>;
    /** Errors by hey's message (one line each), e.g. `Get "...": ... connection refused`. */
    errors: Record<string, number>;
    /** Errors plus 5xx responses. */
    failed: number;
    /** hey's `Requests/sec`. */
    rps: number;
    /** The 50th and 99th percentiles of hey's latency distribution, in ms (NaN when it printed none). */
    p50Ms: number;
    p99Ms: number;
    /** hey's summary as printed. */
    text: string;
}

/** Reads hey's summary: the status code and error distributions and Requests/sec. */
export function parseHey(text: string): HeyResult {
    const statuses: Record<string, number> = {};
    const errors: Record<string, number> = {};
    let section = "";
    for (const line of text.split("\n")) {
        if (/^\S/.test(line)) section = line.trim();
        let m: RegExpMatchArray | null;
        if (section === "Status code distribution:" && (m = line.match(/^\s+\[(\d+)\]\s+(\d+) responses/)))
            statuses[m[1]] = Number(m[2]);
        if (section === "Error distribution:" && (m = line.match(/^\s+\[(\d+)\]\s+(.*)$/)))
            errors[m[2]] = (errors[m[2]] ?? 0) + Number(m[1]);
    }
    const rps = Number(text.match(/Requests\/sec:\s+([\d.]+)/)?.[1] ?? NaN);
    const pct = (p: number) => Number(text.match(new RegExp(`^\\s+${p}%+ in ([\\d.]+) secs`, "m"))?.[1] ?? NaN) * 1000;
    const count = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
    const fivexx = Object.entries(statuses)
        .filter(([s]) => s.startsWith("5"))
        .reduce((a, [, n]) => a + n, 0);
    return {
        total: count(statuses) + count(errors),
        statuses,
        errors,
        failed: count(errors) + fivexx,
        rps,
        p50Ms: pct(50),
        p99Ms: pct(99),
        text,
    };
}

export interface HeyOptions {
    url: string;
    /** The Host header (and TLS server name). */
    host?: string;
    /** Concurrent workers. */
    concurrency: number;
    /** Requests per second per worker; absent: as fast as it goes. */
    qps?: number;
    /** false: a new connection per request. */
    keepAlive: boolean;
    method?: "GET" | "POST";
    body?: string;
    /** false: no `Accept-Encoding: gzip` (Go's client asks for gzip unless told not to). @default true */
    compression?: boolean;
    /** Seconds a request may take before it counts as failed. @default 10 */
    timeout?: number;
    /** Longest run in seconds; `stop()` ends it sooner. */
    seconds: number;
    /** A CPU list for taskset (e.g. "1"): where hey may run. @default - any */
    cpus?: string;
}

export interface HeyRun {
    /** Ends the run (SIGINT: hey prints its summary) and reads the result. */
    stop(): Promise<HeyResult>;
    /** Waits for the run to end by itself (after `seconds`). */
    done(): Promise<HeyResult>;
}

/** Starts hey in the background. */
export function startHey(o: HeyOptions): HeyRun {
    const args = [
        "-z",
        `${o.seconds}s`,
        "-c",
        String(o.concurrency),
        "-t",
        String(o.timeout ?? 10),
        "-disable-redirects",
    ];
    if (o.qps !== undefined) args.push("-q", String(o.qps));
    if (!o.keepAlive) args.push("-disable-keepalive");
    if (o.compression === false) args.push("-disable-compression");
    if (o.host) args.push("-host", o.host);
    if (o.method) args.push("-m", o.method);
    if (o.body !== undefined) args.push("-d", o.body, "-T", "application/x-www-form-urlencoded");
    args.push(o.url);
    const [cmd, argv] = o.cpus ? ["taskset", ["-c", o.cpus, HEY, ...args]] : [HEY, args];
    const child: ChildProcess = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
    });
    child.stderr!.on("data", (d: Buffer) => {
        out += d.toString();
    });
    const ended = new Promise<HeyResult>((resolve, reject) => {
        child.on("error", reject);
        child.on("close", code => {
            if (code !== 0 || !/Summary:/.test(out)) reject(new Error(`hey ${args.join(" ")} exited ${code}:\n${out}`));
            else resolve(parseHey(out));
        });
    });
    return {
        stop: () => {
            if (child.exitCode === null) child.kill("SIGINT");
            return ended;
        },
        done: () => ended,
    };
}

/** Runs hey to the end and returns its result. */
export function runHey(o: HeyOptions): Promise<HeyResult> {
    return startHey(o).done();
}
