// The sandbox's programmatic API, for end-to-end tests: `up` deploys a stack directory on the local
// Docker engine and returns the same summary the CLI prints; `down` removes what `up` created.
import { resolve } from "node:path";
import { Graph, unwrapSecrets } from "./harness";
import { Action, applyPlan, deferred, deleteLeftovers, plan } from "./applier";
import { carriesPending } from "./lib/pending";
import { Engine } from "./docker";
import { SandboxError } from "./lib/errors";
import { MASK, Scrubber } from "./lib/secrets";
import { evaluateStack, loadProject, projectFile, StackProject } from "./load";
import { EvalContext, realOutputs } from "./real-outputs";
import { ApplyContext, DnsRecordValue } from "./resources";
import { live, loadState, lockState, saveState, StackState } from "./state";

export { SandboxError } from "./lib/errors";
export { PENDING_OUTPUT } from "./applier";

export interface UpOptions {
    /** @default "dev" */
    readonly stack?: string;
    /** Config overrides, `key` (the project's) or `namespace:key` -> value. */
    readonly config?: Record<string, string>;
    /** Where progress lines go (already scrubbed of secrets). @default - standard error; `false` for silence */
    readonly log?: ((line: string) => void) | false;
    /** A resolver for the DNS records the simulated DigitalOcean API records. @default - recorded only */
    readonly dns?: (record: DnsRecordValue) => Promise<void>;
}

export interface DownOptions {
    readonly stack?: string;
    /** Also remove resources kept by retainOnDelete (volumes, say). @default false */
    readonly purge?: boolean;
    readonly log?: ((line: string) => void) | false;
}

export interface ResourceSummary {
    type: string;
    name: string;
    action: Action;
}

export interface ContainerSummary {
    name: string;
    image: string;
    networks: string[];
    /** Published ports, `hostIp:hostPort->containerPort/proto`. */
    ports: string[];
    /** `healthy`/`unhealthy`/`starting` with a healthcheck, else the container's state (`running`, `exited`, ...). */
    health: string;
}

export interface UpSummary {
    stack: string;
    resources: ResourceSummary[];
    containers: ContainerSummary[];
    /** Stack outputs; secret ones are "[secret]". */
    outputs: Record<string, unknown>;
    /** Every http(s) URL among the (non-secret) outputs. */
    urls: string[];
    timings: { evalMs: number; passes: number; seconds: number };
}

export interface DownSummary {
    stack: string;
    resources: ResourceSummary[];
    /** Resources still on the engine because of retainOnDelete (until `down --purge`). */
    retained: ResourceSummary[];
    timings: { seconds: number };
}

/** Secret-marked parts of the state's inputs (and secret-by-nature outputs) are known secrets from the start. */
function seedScrubber(scrubber: Scrubber, state: StackState): void {
    for (const r of [...state.resources, ...state.retained]) {
        scrubber.addSecretInputs(r.rawInputs);
        if (r.type === "random:index/randomPassword:RandomPassword") scrubber.add(r.outputs.result);
        if (r.type === "random:index/randomBytes:RandomBytes") scrubber.add(r.outputs.hex, r.outputs.base64);
        if (r.type === "tls:index/privateKey:PrivateKey")
            scrubber.add(r.outputs.privateKeyPem, r.outputs.privateKeyPemPkcs8, r.outputs.privateKeyOpenssh);
    }
}

function logger(opt: UpOptions["log"], scrubber: Scrubber): (line: string) => void {
    const sink = opt === false ? () => undefined : (opt ?? ((l: string) => process.stderr.write(`sandbox: ${l}\n`)));
    return line => sink(scrubber.scrub(line));
}

function applyContext(
    dir: string,
    state: StackState,
    log: (line: string) => void,
    dns?: UpOptions["dns"],
): ApplyContext {
    return {
        dir,
        log,
        dns,
        resources: () => state.resources.filter(r => !r.condemned),
        engineOf: provider => engineOf(state, provider),
    };
}

/** The engine a provider of the state points at: its socket, or a remote Host's daemon over mutual TLS. */
function engineOf(state: StackState, provider: string | undefined): Engine {
    const p = provider ? live(state, provider) : undefined;
    if (p?.socket) return Engine.local(`unix://${p.socket}`);
    return p ? Engine.forProvider(unwrapSecrets(p.rawInputs) as Record<string, string>) : Engine.local();
}

/** Rethrows with every known secret masked (messages carry script output and container logs). */
function scrubbed(e: unknown, scrubber: Scrubber): SandboxError {
    const err = new SandboxError(scrubber.scrub(e instanceof Error ? e.message : String(e)));
    if (e instanceof Error && e.name !== "SandboxError") err.name = `SandboxError(${e.name})`;
    return err;
}

export async function up(dir: string, opts: UpOptions = {}): Promise<UpSummary> {
    const project = loadProject(dir, opts);
    const unlock = lockState(project.project, project.stack, project.dir);
    try {
        return await upLocked(project, opts);
    } finally {
        unlock();
    }
}

async function upLocked(project: StackProject, opts: UpOptions): Promise<UpSummary> {
    const started = Date.now();
    const scrubber = new Scrubber().add(project.secretValues);
    const log = logger(opts.log, scrubber);
    const state = loadState(project.project, project.stack, project.dir);
    seedScrubber(scrubber, state);
    const actx = applyContext(project.dir, state, log, opts.dns);
    const actions = new Map<string, Action>();
    let graph: Graph | undefined;
    let evalMs = 0;
    let passes = 0;
    let deleted: { type: string; name: string }[] = [];
    try {
        // Usually one pass. When a command runs whose output other resources use, they wait for the
        // next pass, which evaluates the program again with the real output.
        for (;;) {
            if (++passes > 5)
                throw new SandboxError(
                    "command outputs did not settle after 5 passes (a cycle of commands feeding each other?)",
                );
            const ectx: EvalContext = {
                state,
                scrubber,
                dir: project.dir,
                project: project.project,
                errors: [],
                log,
                providerHosts: new Map(),
            };
            const t = Date.now();
            try {
                graph = await evaluateStack(project, realOutputs(ectx));
            } catch (e) {
                // An output the sandbox could not make (a StackReference to no state, say) is the cause of
                // what the program then trips over: report it first.
                if (ectx.errors.length) throw new SandboxError(ectx.errors.map(x => x.message).join("\n"));
                throw e;
            }
            evalMs += Date.now() - t;
            for (const r of graph.resources) scrubber.addSecretInputs(r.rawInputs);
            for (const k of graph.secretOutputs) scrubber.add(graph.outputs[k]);
            if (ectx.errors.length) throw new SandboxError(ectx.errors.map(e => e.message).join("\n"));
            log(`evaluated ${graph.resources.length} resources in ${Date.now() - t} ms (pass ${passes})`);
            const steps = plan(graph, state);
            const wait = deferred(graph, steps);
            for (const [k, a] of await applyPlan(steps, wait, state, actx)) if (!actions.has(k)) actions.set(k, a);
            if (wait.size === 0 && !carriesPending(JSON.stringify(graph.outputs))) break;
        }
        deleted = await deleteLeftovers(graph, state, actx);
        // The resource tree `sandbox export` prints: recorded only once an up has been applied, as Pulumi's
        // state would hold it.
        state.tree = graph!.resources.map(r => ({
            key: r.key,
            type: r.type,
            name: r.name,
            custom: r.custom,
            parent: r.parent,
        }));
        // What other stacks' StackReferences read. Pulumi drops undefined outputs.
        state.outputs = Object.fromEntries(Object.entries(graph!.outputs).filter(([, v]) => v !== undefined));
        // Secret: marked so, or carrying a value secret by nature (a RandomPassword's result is secret in
        // Pulumi even when the program does not wrap it; under mocks it is not marked).
        state.secretOutputs = Object.keys(state.outputs).filter(
            k =>
                graph!.secretOutputs.has(k) ||
                JSON.stringify(scrubber.scrubDeep(state.outputs![k])) !== JSON.stringify(state.outputs![k]),
        );
        saveState(state);
    } catch (e) {
        saveState(state);
        throw scrubbed(e, scrubber);
    }
    const g = graph!;
    const outputs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(g.outputs)) {
        // Pulumi drops undefined outputs too.
        if (v !== undefined) outputs[k] = g.secretOutputs.has(k) ? MASK : scrubber.scrubDeep(v);
    }
    return {
        stack: `${project.project}/${project.stack}`,
        resources: [
            ...g.resources
                .filter(r => r.custom)
                .map(r => ({ type: r.type, name: r.name, action: actions.get(r.key) ?? ("same" as Action) })),
            ...deleted.map(r => ({ type: r.type, name: r.name, action: "delete" as Action })),
        ],
        containers: await containers(state),
        outputs,
        urls: urls(outputs),
        timings: { evalMs, passes, seconds: (Date.now() - started) / 1000 },
    };
}

export async function down(dir: string, opts: DownOptions = {}): Promise<DownSummary> {
    const started = Date.now();
    const abs = resolve(dir);
    const { y } = projectFile(abs);
    const stack = opts.stack ?? "dev";
    const unlock = lockState(y.name, stack, abs);
    try {
        return await downLocked(abs, y.name, stack, opts, started);
    } finally {
        unlock();
    }
}

async function downLocked(
    abs: string,
    project: string,
    stack: string,
    opts: DownOptions,
    started: number,
): Promise<DownSummary> {
    const state = loadState(project, stack, abs);
    const scrubber = new Scrubber();
    seedScrubber(scrubber, state);
    const log = logger(opts.log, scrubber);
    let deleted;
    try {
        deleted = await deleteLeftovers(undefined, state, applyContext(abs, state, log), opts.purge ?? false);
        // A stack taken down has no outputs left for a StackReference to read.
        delete state.outputs;
        delete state.secretOutputs;
        saveState(state);
    } catch (e) {
        saveState(state);
        throw scrubbed(e, scrubber);
    }
    return {
        stack: `${project}/${stack}`,
        resources: deleted.map(r => ({ type: r.type, name: r.name, action: "delete" as Action })),
        retained: state.retained.map(r => ({ type: r.type, name: r.name, action: "same" as Action })),
        timings: { seconds: (Date.now() - started) / 1000 },
    };
}

async function containers(state: StackState): Promise<ContainerSummary[]> {
    const out: ContainerSummary[] = [];
    for (const r of state.resources) {
        if (r.type !== "docker:index/container:Container" || r.condemned || !r.engineId) continue;
        const c = await (r.socket ? Engine.local(`unix://${r.socket}`) : engineOf(state, r.provider)).containerInspect(
            r.engineId,
        );
        if (!c) {
            out.push({ name: String(r.outputs.name), image: "", networks: [], ports: [], health: "missing" });
            continue;
        }
        const ports: string[] = [];
        for (const [port, bindings] of Object.entries<any>(c.NetworkSettings?.Ports ?? {})) {
            for (const b of bindings ?? []) ports.push(`${b.HostIp}:${b.HostPort}->${port}`);
        }
        out.push({
            name: String(c.Name).replace(/^\//, ""),
            image: c.Config?.Image ?? "",
            networks: Object.keys(c.NetworkSettings?.Networks ?? {}),
            ports,
            health: c.State?.Health?.Status ?? c.State?.Status ?? "unknown",
        });
    }
    return out;
}

function urls(v: unknown, out: string[] = []): string[] {
    if (typeof v === "string") {
        if (/^https?:\/\/\S+$/.test(v) && !v.includes(MASK)) out.push(v);
    } else if (Array.isArray(v)) v.forEach(x => urls(x, out));
    else if (v && typeof v === "object") Object.values(v).forEach(x => urls(x, out));
    return out;
}
