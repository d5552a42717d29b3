// The constant-rate load generator: vegeta (a Go module, installed by bench/tools.sh). Unlike hey, it
// keeps sending at the set rate whatever the server does (an outage shows as failures, not as a slower
// client) and records every request with its send time, latency, status and error, which the redeploy
// chart needs per 100 ms.
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Sample } from "./stats";

export const VEGETA = "/usr/local/bin/vegeta";
/** The module version bench/tools.sh installs. */
export const VEGETA_VERSION = "v12.13.0";

export interface AttackOptions {
    /** e.g. https://172.18.0.3/ */
    readonly url: string;
    /** The name asked for (Host header and TLS server name); the connection still goes to the url's address. */
    readonly host?: string;
    /** Requests per second. */
    readonly rate: number;
    /** false: a new connection (and TLS handshake) per request. */
    readonly keepAlive: boolean;
    /** Longest run; `stop()` ends it sooner. @default 300 */
    readonly seconds?: number;
    /** Seconds before a request counts as failed. @default 10 */
    readonly timeout?: number;
    /** A CPU list for taskset (e.g. "1"): where the generator may run. */
    readonly cpus?: string;
}

export interface Attack {
    /** The generator's process id. */
    readonly pid: number;
    /** Ends the attack (SIGINT: vegeta writes what it has) and reads every request's record. */
    stop(): Promise<Sample[]>;
}

/** One line of `vegeta encode --to json`. */
interface VegetaLine {
    code: number;
    timestamp: string;
    latency: number;
    error: string;
}

/** Reads `vegeta encode --to json` output (one JSON object per line) into samples. */
export function parseVegeta(jsonLines: string): Sample[] {
    return jsonLines
        .split("\n")
        .filter(l => l.trim() !== "")
        .map(l => {
            const v = JSON.parse(l) as VegetaLine;
            // RFC 3339 with nanoseconds: Date.parse wants at most milliseconds.
            const sentMs = Date.parse(v.timestamp.replace(/(\.\d{3})\d+/, "$1"));
            if (Number.isNaN(sentMs)) throw new Error(`vegeta: bad timestamp ${v.timestamp}`);
            return { sentMs, latencyMs: v.latency / 1e6, status: v.code, ...(v.error ? { error: v.error } : {}) };
        });
}

/** Starts a constant-rate attack in the background. */
export function startAttack(o: AttackOptions): Attack {
    const dir = mkdtempSync(join(tmpdir(), "dropyard-vegeta-"));
    const out = join(dir, "results.bin");
    const args = [
        "attack",
        `-rate=${Math.round(o.rate)}/1s`,
        `-duration=${o.seconds ?? 300}s`,
        `-timeout=${o.timeout ?? 10}s`,
        "-insecure",
        `-keepalive=${o.keepAlive}`,
        "-redirects=-1",
        "-max-workers=2000",
        `-output=${out}`,
    ];
    let target = o.url;
    if (o.host) {
        // The edge refuses a TLS handshake without a name it serves: ask for the name, connect to the address.
        const u = new URL(o.url);
        const port = u.port || (u.protocol === "https:" ? "443" : "80");
        args.push("-connect-to", `${o.host}:${port}:${u.hostname}:${port}`);
        u.hostname = o.host;
        target = u.toString();
    }
    const [cmd, argv] = o.cpus ? ["taskset", ["-c", o.cpus, VEGETA, ...args]] : [VEGETA, args];
    const child: ChildProcess = spawn(cmd, argv, { stdio: ["pipe", "ignore", "pipe"] });
    child.stdin!.end(`GET ${target}\n`);
    let err = "";
    child.stderr!.on("data", (d: Buffer) => {
        err += d.toString();
    });
    const ended = new Promise<void>((resolve, reject) => {
        child.on("error", reject);
        child.on("close", code =>
            code === 0 || code === null ? resolve() : reject(new Error(`vegeta exited ${code}: ${err}`)),
        );
    });
    return {
        pid: child.pid ?? -1,
        stop: async () => {
            if (child.exitCode === null) child.kill("SIGINT");
            await ended;
            try {
                const json = execFileSync(VEGETA, ["encode", "--to", "json", out], { maxBuffer: 1 << 30 }).toString();
                return parseVegeta(json);
            } finally {
                rmSync(dir, { recursive: true, force: true });
            }
        },
    };
}
