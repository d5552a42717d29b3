// The local Docker engine, through its CLI (builds, tags, networks, volumes, logs) and its HTTP API on
// the unix socket (container create/start/inspect, where the API maps the provider's fields exactly:
// healthcheck arrays, entrypoint arrays, environment values with newlines, nothing secret in argv).
import { request } from "node:http";
import { SandboxError } from "./lib/errors";
import { exec, ExecResult, lastLines } from "./lib/exec";

export const DEFAULT_SOCKET = "/var/run/docker.sock";

export interface ApiResponse { status: number; body: any }

export class Engine {
    private static readonly cache = new Map<string, Engine>();

    private constructor(readonly socketPath: string) {}

    /** The engine behind a provider's `host` (absent: DOCKER_HOST or the default socket). Only unix sockets. */
    static fromHost(host: string | undefined): Engine {
        const endpoint = host || process.env.DOCKER_HOST || `unix://${DEFAULT_SOCKET}`;
        if (!endpoint.startsWith("unix://")) {
            throw new SandboxError(`docker host "${endpoint}" is not the local engine; the sandbox runs the local target only (use a unix:// socket, e.g. Host { local: true })`);
        }
        const socket = endpoint.slice("unix://".length);
        let e = Engine.cache.get(socket);
        if (!e) { e = new Engine(socket); Engine.cache.set(socket, e); }
        return e;
    }

    /** Runs the docker CLI against this engine. */
    cli(args: readonly string[], opts: { env?: Record<string, string>; input?: string; cwd?: string } = {}): Promise<ExecResult> {
        return exec("docker", args, { env: { ...process.env, ...opts.env, DOCKER_HOST: `unix://${this.socketPath}` }, input: opts.input, cwd: opts.cwd });
    }

    /** Runs the docker CLI and returns its trimmed stdout; throws with docker's own message otherwise. */
    async cliOk(args: readonly string[], what: string, opts: { env?: Record<string, string>; input?: string; cwd?: string } = {}): Promise<string> {
        const r = await this.cli(args, opts);
        if (r.code !== 0) throw new SandboxError(`${what} failed: ${lastLines(r.stderr || r.stdout, 15)}`);
        return r.stdout.trim();
    }

    /** One Engine API call; the body is JSON both ways. */
    api(method: string, path: string, body?: unknown): Promise<ApiResponse> {
        return new Promise((resolve, reject) => {
            const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
            const req = request({
                socketPath: this.socketPath, path, method,
                headers: payload ? { "Content-Type": "application/json", "Content-Length": payload.length } : {},
            }, res => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () => {
                    const text = Buffer.concat(chunks).toString("utf8");
                    let parsed: unknown = text;
                    try { parsed = text ? JSON.parse(text) : undefined; } catch { /* plain text */ }
                    resolve({ status: res.statusCode ?? 0, body: parsed });
                });
            });
            req.on("error", e => reject(new SandboxError(`the Docker engine at ${this.socketPath} does not answer (${e.message}); start it with \`bash sandbox/engine/engine.sh start\``)));
            if (payload) req.write(payload);
            req.end();
        });
    }

    /** An API call that must succeed (2xx, or a status listed in `ok`). */
    async apiOk(method: string, path: string, what: string, body?: unknown, ok: number[] = []): Promise<ApiResponse> {
        const r = await this.api(method, path, body);
        if ((r.status < 200 || r.status >= 300) && !ok.includes(r.status)) {
            const msg = typeof r.body === "object" && r.body?.message ? r.body.message : String(r.body ?? "").trim();
            throw new SandboxError(`${what} failed (${r.status}): ${msg}`);
        }
        return r;
    }

    async ping(): Promise<void> {
        await this.apiOk("GET", "/_ping", "docker ping");
    }

    /** `docker image inspect`, or undefined when the engine has no such image. */
    async imageInspect(ref: string): Promise<{ Id: string; RepoDigests?: string[]; RepoTags?: string[] } | undefined> {
        const r = await this.api("GET", `/images/${encodeURIComponent(ref)}/json`);
        if (r.status === 404) return undefined;
        if (r.status !== 200) throw new SandboxError(`docker image inspect ${ref} failed (${r.status}): ${r.body?.message ?? r.body}`);
        return r.body;
    }

    async containerInspect(idOrName: string): Promise<any | undefined> {
        const r = await this.api("GET", `/containers/${encodeURIComponent(idOrName)}/json`);
        if (r.status === 404) return undefined;
        if (r.status !== 200) throw new SandboxError(`docker inspect ${idOrName} failed (${r.status}): ${r.body?.message ?? r.body}`);
        return r.body;
    }

    /** The last lines a container wrote (stdout and stderr). */
    async logs(idOrName: string, lines = 30): Promise<string> {
        const r = await this.cli(["logs", "--tail", String(lines), idOrName]);
        return (r.stdout + r.stderr).trim();
    }
}
