// The one Docker client of the sandbox, the bench and the tests: dockerode, pointed at a daemon the
// way the docker CLI is (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH): a unix socket by default,
// or tcp://host:port, with mutual TLS when a CA, a certificate and a key are given (a droplet's engine
// on 2376). The sandbox deploys to local sockets (`Engine.local`) and to a remote Host's daemon over mutual TLS
// (`Engine.forProvider`). Builds go through the docker CLI against the same endpoint: it packs the context as
// `docker build` does (.dockerignore).
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import Docker from "dockerode";
import { SandboxError } from "./lib/errors";
import { exec, ExecResult } from "./lib/exec";

export const DEFAULT_SOCKET = "/var/run/docker.sock";

/** PEM material for mutual TLS: the CA that signed the daemon's certificate, and the client's own pair. */
export interface TlsMaterial {
    ca: string | Buffer;
    cert: string | Buffer;
    key: string | Buffer;
}

/**
 * dockerode's options for an endpoint in DOCKER_HOST form (absent: `env.DOCKER_HOST`, else the default
 * socket). For tcp://, TLS is on when `tls` is given or `env.DOCKER_TLS_VERIFY` is set, in which case the
 * files ca.pem, cert.pem and key.pem come from `env.DOCKER_CERT_PATH` (default ~/.docker), as the CLI has it.
 */
export function dockerOptions(
    host?: string,
    tls?: TlsMaterial,
    env: NodeJS.ProcessEnv = process.env,
): Docker.DockerOptions {
    const endpoint = host || env.DOCKER_HOST || `unix://${DEFAULT_SOCKET}`;
    if (endpoint.startsWith("unix://")) return { socketPath: endpoint.slice("unix://".length) };
    const m = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[^:/[\]]+)(?::(\d+))?\/?$/.exec(endpoint);
    if (!m) throw new SandboxError(`docker host "${endpoint}" is neither unix://<socket path> nor tcp://<host>:<port>`);
    const certs = env.DOCKER_CERT_PATH || join(homedir(), ".docker");
    const material = tls ?? (env.DOCKER_TLS_VERIFY ? tlsFromDir(certs) : undefined);
    const address = m[1].replace(/^\[(.*)\]$/, "$1");
    const port = m[2] ? Number(m[2]) : material ? 2376 : 2375;
    if (!material) return { protocol: "http", host: address, port };
    return { protocol: "https", host: address, port, ca: material.ca, cert: material.cert, key: material.key };
}

function tlsFromDir(dir: string): TlsMaterial {
    const read = (f: string) => readFileSync(join(dir, f));
    return { ca: read("ca.pem"), cert: read("cert.pem"), key: read("key.pem") };
}

/** A failed API call as the engine answered it: its HTTP status and message. */
export interface Refusal {
    status: number;
    message: string;
}

/** An engine: dockerode for the API, the docker CLI (same endpoint) for builds. */
export class Engine {
    private static readonly cache = new Map<string, Engine>();
    readonly docker: Docker;

    private constructor(
        readonly host: string,
        readonly options: Docker.DockerOptions,
        readonly tls?: TlsMaterial,
    ) {
        this.docker = new Docker(options);
    }

    /** A client for any endpoint the CLI understands (unix socket, tcp, tcp with mutual TLS). */
    static connect(host?: string, tls?: TlsMaterial): Engine {
        const options = dockerOptions(host, tls);
        return new Engine(host || process.env.DOCKER_HOST || `unix://${DEFAULT_SOCKET}`, options, tls);
    }

    /**
     * The engine a docker provider's inputs point at: the local socket, or a remote Host's daemon at
     * tcp://ADDRESS:2376 with its CA, client certificate and key (the only way the sandbox speaks TCP).
     */
    static forProvider(inputs: {
        host?: string;
        caMaterial?: string;
        certMaterial?: string;
        keyMaterial?: string;
    }): Engine {
        const endpoint = inputs.host || process.env.DOCKER_HOST || `unix://${DEFAULT_SOCKET}`;
        if (endpoint.startsWith("unix://")) return Engine.local(endpoint);
        const { caMaterial: ca, certMaterial: cert, keyMaterial: key } = inputs;
        if (!endpoint.startsWith("tcp://") || !ca || !cert || !key) {
            throw new SandboxError(
                `docker host "${endpoint}" is neither a unix:// socket nor tcp:// with caMaterial, ` +
                    "certMaterial and keyMaterial; the sandbox speaks TCP to a daemon only with mutual TLS",
            );
        }
        const id = `${endpoint} ${createHash("sha256").update(`${ca}\0${cert}\0${key}`).digest("hex")}`;
        let e = Engine.cache.get(id);
        if (!e) {
            e = Engine.connect(endpoint, { ca, cert, key });
            Engine.cache.set(id, e);
        }
        return e;
    }

    /** The engine behind a provider's `host` (absent: DOCKER_HOST or the default socket). Only unix sockets. */
    static local(host?: string): Engine {
        const endpoint = host || process.env.DOCKER_HOST || `unix://${DEFAULT_SOCKET}`;
        if (!endpoint.startsWith("unix://")) {
            throw new SandboxError(
                `docker host "${endpoint}" is not the local engine ` +
                    "(use a unix:// socket, e.g. Host { local: true }; a remote Host's daemon is reached with Engine.forProvider)",
            );
        }
        let e = Engine.cache.get(endpoint);
        if (!e) {
            e = Engine.connect(endpoint);
            Engine.cache.set(endpoint, e);
        }
        return e;
    }

    /** The unix socket this engine listens on ("" for tcp). */
    get socketPath(): string {
        return this.options.socketPath ?? "";
    }

    /** Runs one API call; a refusal by the engine comes back as its status and message, not as an error. */
    async attempt<T>(call: () => Promise<T>): Promise<{ value: T } | Refusal> {
        try {
            return { value: await call() };
        } catch (e) {
            const err = e as { statusCode?: number; json?: { message?: string } | string; message?: string };
            if (typeof err.statusCode !== "number") {
                throw new SandboxError(
                    `the Docker engine at ${this.host} does not answer (${err.message}); ` +
                        "start it with `bash sandbox/engine/engine.sh start`",
                );
            }
            const body = err.json;
            const message =
                typeof body === "object" && body?.message ? body.message : String(body ?? err.message ?? "").trim();
            return { status: err.statusCode, message };
        }
    }

    /** An API call that must succeed, or be refused with one of the statuses in `ok` (then: undefined). */
    async must<T>(what: string, call: () => Promise<T>, ok: number[] = []): Promise<T | undefined> {
        const r = await this.attempt(call);
        if ("value" in r) return r.value;
        if (ok.includes(r.status)) return undefined;
        throw new SandboxError(`${what} failed (${r.status}): ${r.message}`);
    }

    async ping(): Promise<void> {
        await this.must("docker ping", () => this.docker.ping());
    }

    /** `docker image inspect`, or undefined when the engine has no such image. */
    imageInspect(ref: string): Promise<Docker.ImageInspectInfo | undefined> {
        return this.must(`docker image inspect ${ref}`, () => this.docker.getImage(ref).inspect(), [404]);
    }

    /** `docker inspect` of a container, or undefined when there is none. */
    containerInspect(idOrName: string): Promise<Docker.ContainerInspectInfo | undefined> {
        return this.must(`docker inspect ${idOrName}`, () => this.docker.getContainer(idOrName).inspect(), [404]);
    }

    /** The last lines a container wrote: its stdout, then its stderr ("" when there is no such container). */
    async logs(idOrName: string, lines = 30): Promise<string> {
        const container = this.docker.getContainer(idOrName);
        const r = await this.attempt(() => container.logs({ stdout: true, stderr: true, tail: lines }));
        if (!("value" in r)) return "";
        const { stdout, stderr } = demux(r.value);
        return (stdout + stderr).trim();
    }

    /** Runs a command in a running container (`docker exec`): its exit code and both streams. */
    async exec(container: string, cmd: string[]): Promise<ExecResult> {
        const run = await this.must(`docker exec ${container} ${cmd[0]}`, () =>
            this.docker.getContainer(container).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true }),
        );
        const stream = await run!.start({ hijack: true, stdin: false });
        const out = collect(new PassThrough());
        const err = collect(new PassThrough());
        this.docker.modem.demuxStream(stream, out.stream, err.stream);
        await new Promise<void>((done, fail) => {
            stream.on("end", done);
            stream.on("close", done);
            stream.on("error", fail);
        });
        out.stream.end();
        err.stream.end();
        let info = await run!.inspect();
        for (let i = 0; i < 50 && info.Running; i++) {
            await new Promise(r => setTimeout(r, 20));
            info = await run!.inspect();
        }
        return { code: info.ExitCode ?? -1, stdout: await out.text, stderr: await err.text };
    }

    /**
     * Runs the docker CLI against this engine (for `docker build`). Over TLS the CLI reads its CA, certificate
     * and key from files: they sit in a private temporary directory for the length of the call only.
     */
    async cli(args: readonly string[], opts: { env?: Record<string, string> } = {}): Promise<ExecResult> {
        const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env, DOCKER_HOST: this.host };
        delete env.DOCKER_TLS_VERIFY;
        delete env.DOCKER_CERT_PATH;
        if (!this.tls) return exec("docker", args, { env });
        const dir = mkdtempSync(join(tmpdir(), "dropyard-docker-tls-"));
        try {
            for (const [file, pem] of [
                ["ca.pem", this.tls.ca],
                ["cert.pem", this.tls.cert],
                ["key.pem", this.tls.key],
            ]) {
                writeFileSync(join(dir, file as string), pem, { mode: 0o600 });
            }
            return await exec("docker", args, { env: { ...env, DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: dir } });
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    }
}

function collect(stream: PassThrough): { stream: PassThrough; text: Promise<string> } {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    const text = new Promise<string>(done => stream.on("end", () => done(Buffer.concat(chunks).toString("utf8"))));
    return { stream, text };
}

/**
 * Splits the engine's multiplexed log format (8-byte frame headers: stream, 0, 0, 0, length) into
 * stdout and stderr. A container with a TTY sends plain text: that is all stdout.
 */
export function demux(buf: Buffer): { stdout: string; stderr: string } {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    for (let at = 0; at < buf.length;) {
        const framed =
            at + 8 <= buf.length && buf[at] <= 2 && buf[at + 1] === 0 && buf[at + 2] === 0 && buf[at + 3] === 0;
        if (!framed) return { stdout: buf.toString("utf8"), stderr: "" };
        const size = buf.readUInt32BE(at + 4);
        (buf[at] === 2 ? err : out).push(buf.subarray(at + 8, at + 8 + size));
        at += 8 + size;
    }
    return { stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
}
