// One command over SSH with ssh2, as @pulumi/command's remote.Command runs it: dial host:port as user with a
// private key (or password), each dial bounded by perDialTimeout seconds and retried until dialErrorLimit dials
// failed; then the command runs in an exec channel with `stdin` on its standard input, and its exit code,
// stdout and stderr come back. Host keys are not checked unless `hostKey` is given (the provider's default).
import { createHash } from "node:crypto";
import { Client, ConnectConfig } from "ssh2";
import { ExecResult } from "./exec";

/** The fields of remote.Command's `connection` the sandbox honours (the provider's defaults in brackets). */
export interface SshConnection {
    readonly host: string;
    /** [22] */
    readonly port?: number;
    /** ["root"] */
    readonly user?: string;
    readonly privateKey?: string;
    readonly privateKeyPassword?: string;
    readonly password?: string;
    /** Dials that may fail before the command fails; -1 for no limit. [10] */
    readonly dialErrorLimit?: number;
    /** Seconds one dial (TCP connect, handshake, authentication) may take; 0 for no limit. [15] */
    readonly perDialTimeout?: number;
    /** The server's public key as `authorized_keys` has it (`ssh-ed25519 AAAA…`); absent: not checked. */
    readonly hostKey?: string;
}

/** A dial that failed for good: every attempt's error is summed up in the message, which names user and address. */
export class SshDialError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "SshDialError";
    }
}

/** Pause between failed dials, in ms: 1 s, doubling to at most 5 s (Pulumi's providers back off the same way). */
export function dialBackoffMs(attempt: number): number {
    return Math.min(1000 * 2 ** (attempt - 1), 5000);
}

/** What ssh2 says about a refused dial, as a person would say it. */
function explain(e: Error & { level?: string; code?: string }): string {
    if (e.level === "client-authentication") return "the server refused the key (authentication failed)";
    if (e.level === "client-timeout") return "no SSH handshake within the dial timeout";
    if (e.code === "ECONNREFUSED") return "connection refused (nothing listens on the port)";
    if (e.code === "EHOSTUNREACH" || e.code === "ENETUNREACH") return `the address is unreachable (${e.code})`;
    return e.message;
}

function dial(c: SshConnection, log: (line: string) => void): Promise<Client> {
    return new Promise((resolve, reject) => {
        const client = new Client();
        const config: ConnectConfig = {
            host: c.host,
            port: c.port ?? 22,
            username: c.user ?? "root",
            privateKey: c.privateKey,
            passphrase: c.privateKeyPassword,
            password: c.password,
            readyTimeout: (c.perDialTimeout ?? 15) > 0 ? (c.perDialTimeout ?? 15) * 1000 : 2 ** 31 - 1,
        };
        if (c.hostKey) {
            const want = c.hostKey.trim().split(/\s+/)[1] ?? "";
            config.hostVerifier = (key: Buffer) => {
                const ok = key.toString("base64") === want;
                if (!ok)
                    log(
                        `ssh ${c.host}: host key SHA256:${createHash("sha256").update(key).digest("base64")} is not the expected one`,
                    );
                return ok;
            };
        }
        // A TCP connect that hangs (a filtered port) is bounded too: readyTimeout starts only once connected.
        const timer = setTimeout(() => {
            client.end();
            reject(Object.assign(new Error("no answer within the dial timeout"), { level: "client-timeout" }));
        }, config.readyTimeout! + 1000);
        client.once("ready", () => {
            clearTimeout(timer);
            resolve(client);
        });
        // `on`, not `once`: a client given up on may still report a lost connection afterwards.
        client.on("error", e => {
            clearTimeout(timer);
            client.end();
            reject(e);
        });
        client.connect(config);
    });
}

/** Connects as remote.Command does: retries until `dialErrorLimit` dials failed, then fails saying who, where, why. */
export async function sshConnect(c: SshConnection, log: (line: string) => void = () => undefined): Promise<Client> {
    const limit = c.dialErrorLimit ?? 10;
    const where = `${c.user ?? "root"}@${c.host}:${c.port ?? 22}`;
    for (let attempt = 1; ; attempt++) {
        try {
            return await dial(c, log);
        } catch (e) {
            const why = explain(e as Error);
            if (limit >= 0 && attempt >= limit) {
                throw new SshDialError(
                    `ssh ${where}: ${why} (gave up after ${attempt} dial${attempt > 1 ? "s" : ""}, ` +
                        `each bounded by ${c.perDialTimeout ?? 15}s: connection.dialErrorLimit and perDialTimeout)`,
                );
            }
            log(`ssh ${where}: dial ${attempt} failed: ${why}; retrying`);
            await new Promise(r => setTimeout(r, dialBackoffMs(attempt)));
        }
    }
}

/** Runs `command` on an open connection with `stdin` on its standard input; resolves with its exit code and output. */
export function sshExec(
    client: Client,
    command: string,
    stdin: string | undefined,
    timeoutMs = 0,
): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined;
        client.exec(command, (err, stream) => {
            if (err) return reject(err);
            const out: Buffer[] = [];
            const errs: Buffer[] = [];
            if (timeoutMs > 0) {
                timer = setTimeout(() => {
                    stream.close();
                    reject(new Error(`the command took over ${timeoutMs / 1000}s`));
                }, timeoutMs);
            }
            stream.on("data", (d: Buffer) => out.push(d));
            stream.stderr.on("data", (d: Buffer) => errs.push(d));
            stream.on("close", (code: number | null, signal?: string) => {
                if (timer) clearTimeout(timer);
                resolve({
                    code: code ?? 255,
                    stdout: Buffer.concat(out).toString("utf8"),
                    stderr: Buffer.concat(errs).toString("utf8") + (signal ? `\n(killed by ${signal})` : ""),
                });
            });
            stream.end(stdin ?? "");
        });
    });
}

/** Dials, runs one command, hangs up. */
export async function sshRun(
    c: SshConnection,
    command: string,
    stdin?: string,
    opts: { timeoutMs?: number; log?: (line: string) => void } = {},
): Promise<ExecResult> {
    const client = await sshConnect(c, opts.log);
    try {
        return await sshExec(client, command, stdin, opts.timeoutMs);
    } finally {
        client.end();
    }
}
