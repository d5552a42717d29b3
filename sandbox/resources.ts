// How each supported resource type is created, updated and deleted on the engine (or, for random,
// tls and providers, only recorded). The field-by-field container mapping lives in container-args.ts.
import { resolve } from "node:path";
import type Docker from "dockerode";
import { RecordedResource, unwrapSecrets } from "./harness";
import { containerSpec, endpoint, STATE_ONLY_FIELDS, UPDATABLE_FIELDS } from "./container-args";
import {
    checkDigitalocean,
    createDigitalocean,
    deleteDigitalocean,
    digitaloceanInPlace,
    DNS_RECORD,
    DROPLET,
    FIREWALL,
    SSH_KEY,
    updateDigitalocean,
} from "./digitalocean";
import { Engine } from "./docker";
import { errorAbout, Named, SandboxError } from "./lib/errors";
import { exec, ExecResult, lastLines } from "./lib/exec";
import { SshConnection, sshRun } from "./lib/ssh";
import { StateResource } from "./state";

/** What the handlers need from the run. */
export interface ApplyContext {
    /** The program's directory: where commands run unless told otherwise. */
    dir: string;
    log: (line: string) => void;
    /** The engine a resource's provider points at. */
    engineOf: (provider: string | undefined) => Engine;
    /** The live resources of the stack's state (the simulated DigitalOcean API looks up keys and droplets). */
    resources: () => StateResource[];
    /** Where DNS records go once recorded (a test's resolver); absent: only recorded. */
    dns?: (record: DnsRecordValue) => Promise<void>;
}

/** A DNS record as the simulated DigitalOcean API hands it to a resolver. */
export interface DnsRecordValue {
    fqdn: string;
    type: string;
    value: string;
}

export interface Created {
    engineId?: string;
    socket?: string;
    /** Outputs known only after the resource exists (command stdout/stderr). */
    outputs?: Record<string, unknown>;
}

type Inputs = Record<string, any>;

export async function createResource(r: RecordedResource, ctx: ApplyContext): Promise<Created> {
    const i = r.inputs as Inputs;
    switch (r.type) {
        case "pulumi:providers:docker": {
            const engine = Engine.forProvider(i);
            await engine.ping();
            return { socket: engine.socketPath };
        }
        case "docker:index/network:Network":
            return createNetwork(r, ctx.engineOf(r.provider));
        case "docker:index/volume:Volume":
            return createVolume(r, ctx.engineOf(r.provider));
        case "docker:index/remoteImage:RemoteImage": {
            const engine = ctx.engineOf(r.provider);
            const image = await engine.imageInspect(i.name);
            if (!image)
                throw errorAbout(
                    r,
                    "name",
                    `"${i.name}" is not on the local engine`,
                    "build the stand-in images first (bash sandbox/images/build.sh)",
                );
            return { engineId: image.Id, socket: engine.socketPath };
        }
        case "docker:index/image:Image": {
            // Built during evaluation (its id is the repoDigest the program saw); here it gets its name.
            const engine = ctx.engineOf(r.provider);
            const { repo, tag } = splitReference(i.imageName);
            await engine.must(`docker tag ${i.imageName}`, () =>
                engine.docker.getImage(r.outputs.repoDigest).tag({ repo, tag }),
            );
            return { engineId: r.outputs.repoDigest, socket: engine.socketPath };
        }
        case "docker:index/container:Container":
            return createContainer(r, ctx.engineOf(r.provider), ctx);
        case "command:local:Command":
            return { outputs: await runScript(r, "create", i.create, i, ctx, undefined) };
        case "command:remote:Command":
            return { outputs: await runRemote(r, "create", i.create, i, ctx) };
        case SSH_KEY:
        case DROPLET:
        case FIREWALL:
        case DNS_RECORD:
            return createDigitalocean(r, ctx);
        default:
            return {}; // random, tls, virtual providers: the values were made at evaluation and live in the state
    }
}

/** Checks the values a handler would refuse, so a bad one fails the plan before anything is created. */
export function validateValues(r: RecordedResource): void {
    if (r.type === "pulumi:providers:docker") {
        try {
            Engine.forProvider(r.inputs);
        } catch {
            throw errorAbout(
                r,
                "host",
                `"${r.inputs.host}" is neither a unix:// socket nor tcp:// with mutual TLS (caMaterial, certMaterial, keyMaterial)`,
                "use a unix:// socket (Host { local: true }) or a remote Host's provider (Host { server }), which carries them",
            );
        }
    }
    if (r.type === "docker:index/container:Container")
        containerSpec(r.name, String(r.outputs.name), r.inputs as Inputs);
    checkDigitalocean(r);
}

/** In-place updates: commands run `update` (or `create`); containers get `docker update`. */
export async function updateResource(
    r: RecordedResource,
    prior: StateResource,
    changed: string[],
    ctx: ApplyContext,
): Promise<Created> {
    const i = r.inputs as Inputs;
    if (r.type === "command:local:Command") {
        const script = i.update ?? i.create;
        return {
            outputs: await runScript(r, i.update ? "update" : "create", script, i, ctx, prior.outputs),
        };
    }
    if (r.type.startsWith("digitalocean:")) return updateDigitalocean(r, prior, ctx);
    if (r.type === "command:remote:Command") {
        return {
            outputs: await runRemote(r, i.update ? "update" : "create", i.update ?? i.create, i, ctx),
        };
    }
    if (r.type === "docker:index/container:Container" && changed.some(f => UPDATABLE_FIELDS.includes(f))) {
        const spec = containerSpec(r.name, String(r.outputs.name), i);
        const h = spec.body.HostConfig;
        const engine = ctx.engineOf(r.provider);
        await engine.must(`docker update ${spec.name}`, () =>
            engine.docker.getContainer(String(prior.engineId)).update({
                RestartPolicy: h.RestartPolicy,
                Memory: h.Memory ?? 0,
                MemorySwap: h.MemorySwap ?? 0,
                CpuShares: h.CpuShares ?? 0,
                CpusetCpus: h.CpusetCpus ?? "",
            }),
        );
    }
    return { engineId: prior.engineId, socket: prior.socket };
}

/** Whether a change of these top-level fields can be applied without replacing the resource. */
export function updatableInPlace(type: string, changed: string[], replaceOnChanges: string[] = []): boolean {
    if (changed.some(f => replaceOnChanges.includes(f) || replaceOnChanges.includes("*"))) return false;
    if (type.startsWith("pulumi:providers:")) return true;
    if (type === "command:local:Command" || type === "command:remote:Command") return !changed.includes("triggers");
    if (type.startsWith("digitalocean:")) return digitaloceanInPlace(type, changed);
    if (type === "docker:index/container:Container")
        return changed.every(f => UPDATABLE_FIELDS.includes(f) || STATE_ONLY_FIELDS.includes(f));
    return false;
}

export async function deleteResource(s: StateResource, ctx: ApplyContext): Promise<void> {
    const i = unwrapSecrets(s.rawInputs) as Inputs;
    const engine = () => (s.socket ? Engine.local(`unix://${s.socket}`) : ctx.engineOf(s.provider));
    switch (s.type) {
        case "docker:index/container:Container": {
            if (!s.engineId) return;
            const grace = i.destroyGraceSeconds ?? 0;
            // The provider stops gracefully only when destroyGraceSeconds is set; otherwise it force-removes.
            const e = engine();
            const container = e.docker.getContainer(s.engineId);
            if (grace > 0)
                await e.must(`docker stop ${s.outputs.name}`, () => container.stop({ t: grace }), [304, 404]);
            await e.must(
                `docker rm ${s.outputs.name}`,
                () => container.remove({ force: true, v: i.removeVolumes ?? true }),
                [404],
            );
            return;
        }
        case "docker:index/network:Network": {
            const e = engine();
            const network = e.docker.getNetwork(String(s.engineId ?? s.outputs.name));
            await e.must(`docker network rm ${s.outputs.name}`, () => network.remove(), [404]);
            return;
        }
        case "docker:index/volume:Volume": {
            const e = engine();
            await e.must(
                `docker volume rm ${s.outputs.name}`,
                () => e.docker.getVolume(String(s.outputs.name)).remove(),
                [404],
            );
            return;
        }
        case "command:local:Command":
            if (i.delete) await runScript(s, "delete", i.delete, i, ctx, s.outputs);
            return;
        case "command:remote:Command":
            if (i.delete) await runRemote(s, "delete", i.delete, i, ctx);
            return;
        case DROPLET:
        case FIREWALL:
            return deleteDigitalocean(s, ctx);
        default:
            // Images stay: there is no registry to pull a stand-in back from. random/tls/providers hold nothing.
            return;
    }
}

async function createNetwork(r: RecordedResource, engine: Engine): Promise<Created> {
    const i = r.inputs as Inputs;
    const name = String(r.outputs.name);
    const body: Inputs = {
        Name: name,
        CheckDuplicate: true,
        Driver: i.driver ?? "bridge",
        Internal: i.internal ?? false,
        Attachable: i.attachable ?? false,
        EnableIPv6: i.ipv6 ?? false,
        Options: i.options ?? {},
        Labels: Object.fromEntries((i.labels ?? []).map((l: Inputs) => [l.label, l.value])),
    };
    if (i.ipamDriver || i.ipamConfigs) {
        body.IPAM = {
            Driver: i.ipamDriver ?? "default",
            Config: (i.ipamConfigs ?? []).map((c: Inputs) => ({
                Subnet: c.subnet,
                Gateway: c.gateway,
                IPRange: c.ipRange,
            })),
        };
    }
    const res = await engine.attempt(() => engine.docker.createNetwork(body as Docker.NetworkCreateOptions));
    if ("value" in res) return { engineId: res.value.id, socket: engine.socketPath };
    if (res.status === 409) {
        throw errorAbout(
            r,
            "name",
            `"${name}" is already taken by another network`,
            "a fixed name cannot be replaced create-before-delete (set deleteBeforeReplace or leave name unset); a leftover of an earlier run goes with `docker network rm`",
        );
    }
    throw new SandboxError(`docker network create ${name} failed (${res.status}): ${res.message}`);
}

async function createVolume(r: RecordedResource, engine: Engine): Promise<Created> {
    const i = r.inputs as Inputs;
    const name = String(r.outputs.name);
    // Like `docker volume create`, an existing volume of that name is adopted: that is how retained data comes back.
    await engine.must(`docker volume create ${name}`, () =>
        engine.docker.createVolume({
            Name: name,
            Driver: i.driver ?? "local",
            DriverOpts: i.driverOpts ?? {},
            Labels: Object.fromEntries((i.labels ?? []).map((l: Inputs) => [l.label, l.value])),
        }),
    );
    return { engineId: name, socket: engine.socketPath };
}

async function createContainer(r: RecordedResource, engine: Engine, ctx: ApplyContext): Promise<Created> {
    const spec = containerSpec(r.name, String(r.outputs.name), r.inputs as Inputs);
    const res = await engine.attempt(() => engine.docker.createContainer({ ...spec.body, name: spec.name }));
    if (!("value" in res) && res.status === 409) {
        throw errorAbout(
            r,
            "name",
            `"${spec.name}" is already in use by another container`,
            "a fixed name cannot be replaced create-before-delete: leave name unset (auto-name) or set deleteBeforeReplace; remove leftovers with docker rm -f",
        );
    }
    if (!("value" in res) && res.status === 404) {
        throw errorAbout(r, "image", `"${spec.body.Image}" is not on the local engine`, "build or tag it first");
    }
    if (!("value" in res)) throw new SandboxError(`docker create ${spec.name} failed (${res.status}): ${res.message}`);
    const container = res.value;
    const id = container.id;
    try {
        for (const n of spec.connects) {
            await engine.must(`docker network connect ${n.network} ${spec.name}`, () =>
                engine.docker.getNetwork(n.network).connect({ Container: id, EndpointConfig: endpoint(n) }),
            );
        }
        if (spec.start) {
            await engine.must(`docker start ${spec.name}`, () => container.start(), [304]);
            if (spec.wait) await waitHealthy(r, engine, id, spec.name, spec.waitTimeoutSeconds, ctx);
            else if (spec.mustRun) await checkRunning(r, engine, id, spec.name);
        }
    } catch (e) {
        // Like the provider: a container that failed to come up is removed, so it never takes traffic.
        await engine.attempt(() => container.remove({ force: true, v: true })).catch(() => undefined);
        throw e;
    }
    return { engineId: id, socket: engine.socketPath };
}

async function checkRunning(r: RecordedResource, engine: Engine, id: string, name: string): Promise<void> {
    await sleep(250); // the provider polls too: a container that exits at once is caught here
    const c = await engine.containerInspect(id);
    if (!c?.State?.Running) {
        throw errorAbout(
            r,
            "mustRun",
            `is true but container "${name}" is not running (exit code ${c?.State?.ExitCode})`,
            "fix the command or image, or set mustRun: false",
            { [`last log lines of ${name}`]: await engine.logs(id, 20) },
        );
    }
}

async function waitHealthy(
    r: RecordedResource,
    engine: Engine,
    id: string,
    name: string,
    timeoutSeconds: number,
    ctx: ApplyContext,
): Promise<void> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    ctx.log(`wait for ${name} to be healthy (up to ${timeoutSeconds}s)`);
    for (;;) {
        const c = await engine.containerInspect(id);
        const state: Partial<Docker.ContainerInspectInfo["State"]> = c?.State ?? {};
        const health: string | undefined = state.Health?.Status;
        if (state.Running && (health === "healthy" || health === undefined)) return; // no healthcheck: running is all there is
        const exited = !state.Running && !state.Restarting;
        if (exited || health === "unhealthy" || Date.now() > deadline) {
            const probe = state.Health?.Log?.at(-1)?.Output?.trim();
            const why = exited
                ? `exited (code ${state.ExitCode})`
                : health === "unhealthy"
                  ? "is unhealthy"
                  : `is not healthy after ${timeoutSeconds}s (${health})`;
            throw errorAbout(
                r,
                "wait",
                `is true and container "${name}" ${why}`,
                "fix the healthcheck or the service, or raise waitTimeout",
                {
                    "last healthcheck output": lastLines(probe ?? "", 5),
                    [`last log lines of ${name}`]: await engine.logs(id, 20),
                },
            );
        }
        await sleep(200);
    }
}

/**
 * Runs one of a command's scripts like the command provider: `interpreter` (default /bin/sh -c) plus
 * the script, the process environment plus `environment`, `stdin`, in `dir` (default: the program's
 * directory). Update and delete see the previous output as PULUMI_COMMAND_STDOUT / _STDERR.
 */
async function runScript(
    res: Named,
    which: string,
    script: string | undefined,
    i: Inputs,
    ctx: ApplyContext,
    previous: Record<string, unknown> | undefined,
): Promise<Record<string, string>> {
    if (!script) return { stdout: "", stderr: "" };
    const interpreter: string[] = i.interpreter ?? ["/bin/sh", "-c"];
    const env: NodeJS.ProcessEnv = { ...process.env, ...(i.environment ?? {}) };
    if (previous) {
        env.PULUMI_COMMAND_STDOUT = String(previous.stdout ?? "");
        env.PULUMI_COMMAND_STDERR = String(previous.stderr ?? "");
    }
    ctx.log(`run ${which} of ${res.name}`);
    const r = await exec(interpreter[0], [...interpreter.slice(1), script], {
        env,
        input: i.stdin,
        cwd: i.dir ? resolve(ctx.dir, i.dir) : ctx.dir,
    });
    return scriptOutputs(res, which, r);
}

/**
 * Runs one of a remote command's scripts over real SSH, as the command provider does: the connection as given
 * (dial retries and timeouts included), `stdin` on the script's standard input. A dial that fails for good names
 * the user, the address and what was refused.
 */
async function runRemote(
    res: Named,
    which: string,
    script: string | undefined,
    i: Inputs,
    ctx: ApplyContext,
): Promise<Record<string, string>> {
    if (!script) return { stdout: "", stderr: "" };
    const c = i.connection as SshConnection;
    const where = `ssh ${c.user ?? "root"}@${c.host}:${c.port ?? 22}`;
    ctx.log(`run ${which} of ${res.name} over ${where}`);
    let r;
    try {
        r = await sshRun(c, script, i.stdin, { log: ctx.log });
    } catch (e) {
        throw errorAbout(
            res,
            "connection",
            `failed: ${(e as Error).message}`,
            "check the address, the user, the key and that sshd answers",
        );
    }
    return scriptOutputs(res, which, r, ` over ${where}`);
}

/** A script's outputs as the command provider gives them (one trailing newline cut); a failure shows its stderr. */
function scriptOutputs(res: Named, which: string, r: ExecResult, where = ""): Record<string, string> {
    if (r.code !== 0) {
        throw errorAbout(res, which, `script failed (exit ${r.code})${where}`, `fix the ${which} script`, {
            [`its ${r.stderr.trim() ? "stderr" : "output"} (last lines)`]: lastLines(
                r.stderr.trim() ? r.stderr : r.stdout,
                20,
            ),
        });
    }
    return { stdout: r.stdout.replace(/\n$/, ""), stderr: r.stderr.replace(/\n$/, "") };
}

/** `name[:tag]` as `docker tag` splits it: the tag follows the last colon after the last slash (default latest). */
export function splitReference(ref: string): { repo: string; tag: string } {
    const colon = ref.lastIndexOf(":");
    if (colon > ref.lastIndexOf("/")) return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
    return { repo: ref, tag: "latest" };
}

function sleep(ms: number): Promise<void> {
    return new Promise(res => setTimeout(res, ms));
}
