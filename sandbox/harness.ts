// The recording mock harness the sandbox, the bench and every test run on. It runs a stack program
// under pulumi.runtime.setMocks and records every resource: its type, name, the inputs the provider
// would receive (secrets still marked), its parent and everything it depends on (explicitly, through
// Outputs, or through its provider). Provider outputs are faked per type by `fakeOutputs`; the
// sandbox swaps in real ones. It lives here so that the sandbox never imports the tests.
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";

export interface RecordedResource {
    /** Pulumi type token, e.g. `docker:index/container:Container`. */
    readonly type: string;
    readonly name: string;
    /** `type::name`: unique within one evaluation. */
    readonly key: string;
    /** Inputs as the provider receives them, secret values still wrapped (see `isSecretAt`). */
    readonly rawInputs: Record<string, unknown>;
    /** Inputs with every secret unwrapped. */
    readonly inputs: Record<string, any>;
    /** Outputs the (fake or real) provider returned. */
    outputs: Record<string, any>;
    readonly custom: boolean;
    parent?: string;
    provider?: string;
    /** Direct dependencies: explicit `dependsOn`, resources behind input Outputs, and the provider. */
    readonly deps: Set<string>;
    /** Resource options that matter to an applier: replaceOnChanges, deleteBeforeReplace, ... */
    readonly options: {
        deleteBeforeReplace?: boolean;
        replaceOnChanges?: string[];
        ignoreChanges?: string[];
        retainOnDelete?: boolean;
    };
}

export type OutputFaker = (args: pulumi.runtime.MockResourceArgs) => Promise<Record<string, any>> | Record<string, any>;

export interface EvaluateOptions {
    /** Stack config as `project:key` (or bare `key`, taken as the project's) to string value. */
    readonly config?: Record<string, string>;
    readonly project?: string;
    readonly stack?: string;
    /** Replaces the fake provider outputs, e.g. with real random and tls values in the sandbox. */
    readonly outputs?: OutputFaker;
}

export class Graph {
    readonly byKey = new Map<string, RecordedResource>();
    constructor(
        readonly resources: RecordedResource[],
        readonly outputs: Record<string, unknown>,
        readonly secretOutputs: Set<string>,
    ) {
        for (const r of resources) this.byKey.set(r.key, r);
    }

    ofType(type: string): RecordedResource[] {
        return this.resources.filter(r => r.type === type);
    }

    /** The one resource of `type` (whose name is `name`, when given); throws when there is not exactly one. */
    one(type: string, name?: string): RecordedResource {
        const found = this.ofType(type).filter(r => name === undefined || r.name === name);
        if (found.length !== 1) {
            const names =
                this.ofType(type)
                    .map(r => r.name)
                    .join(", ") || "none";
            throw new Error(
                `expected one ${type}${name ? ` named ${name}` : ""}, found ${found.length} (have: ${names})`,
            );
        }
        return found[0];
    }

    children(key: string): RecordedResource[] {
        return this.resources.filter(r => r.parent === key);
    }

    /** Custom resources below a component (or the resource itself when it is custom). */
    customResourcesUnder(key: string): RecordedResource[] {
        const r = this.byKey.get(key);
        if (!r) return [];
        if (r.custom) return [r];
        return this.children(key).flatMap(c => this.customResourcesUnder(c.key));
    }

    /**
     * Custom resources `key` waits for before it is created, transitively. Depending on a component
     * means waiting for everything under it, as in the Pulumi engine.
     */
    dependenciesOf(key: string): Set<string> {
        const seen = new Set<string>();
        const visit = (k: string) => {
            const r = this.byKey.get(k);
            if (!r) return;
            for (const d of r.deps) {
                for (const c of this.customResourcesUnder(d)) {
                    if (!seen.has(c.key)) {
                        seen.add(c.key);
                        visit(c.key);
                    }
                }
                const dep = this.byKey.get(d);
                if (dep && !dep.custom && !seen.has(d)) {
                    seen.add(d);
                    visit(d);
                }
            }
        };
        visit(key);
        return seen;
    }

    /** Whether `a` is created only after `b` (both given as keys or as recorded resources). */
    waitsFor(a: RecordedResource | string, b: RecordedResource | string): boolean {
        const ak = typeof a === "string" ? a : a.key;
        const bk = typeof b === "string" ? b : b.key;
        const deps = this.dependenciesOf(ak);
        return (
            deps.has(bk) ||
            (this.customResourcesUnder(bk).every(c => deps.has(c.key)) && this.customResourcesUnder(bk).length > 0)
        );
    }
}

/** Whether the raw input at `path` (dot-separated, array indexes as numbers) is a Pulumi secret. */
export function isSecretAt(resource: RecordedResource, path: string): boolean {
    let node: unknown = resource.rawInputs;
    for (const part of path.split(".")) {
        if (isSecretValue(node)) return true;
        if (node === null || typeof node !== "object") return false;
        node = (node as Record<string, unknown>)[part];
    }
    return isSecretValue(node);
}

/**
 * Whether `v` is a serialized Pulumi secret: the marker Pulumi's serializer puts on one, `{ [sig]: secret, value }`.
 */
export function isSecretValue(v: unknown): v is { value: unknown } {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[specialSigKey] === specialSecretSig;
}

/** Unwraps every secret marker, leaving plain values. */
export function unwrapSecrets(v: any): any {
    if (isSecretValue(v)) return unwrapSecrets(v.value);
    if (Array.isArray(v)) return v.map(unwrapSecrets);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
    return v;
}

/** The value of an Output (or plain value) and whether it is secret. */
export async function resolve<T>(value: pulumi.Input<T>): Promise<{ value: T; secret: boolean }> {
    const out = pulumi.output(value) as any;
    const [v, secret] = await Promise.all([out.promise(), out.isSecret]);
    return { value: v, secret };
}

/** Fake outputs a real provider would return, so components can read them under mocks. */
export function fakeOutputs(args: pulumi.runtime.MockResourceArgs): Record<string, any> {
    const i = args.inputs;
    const h = shortHash(args.type + args.name + JSON.stringify(i));
    switch (args.type) {
        case "random:index/randomPassword:RandomPassword":
        case "random:index/randomString:RandomString":
            return { result: `fake-${args.name}-${h}-`.repeat(8).slice(0, i.length ?? 24) };
        case "random:index/randomId:RandomId":
            return { hex: h, b64Url: h, dec: "1" };
        case "tls:index/privateKey:PrivateKey":
            return {
                privateKeyPem: `-----BEGIN PRIVATE KEY-----\nfake-${args.name}\n-----END PRIVATE KEY-----\n`,
                privateKeyOpenssh: `fake-openssh-${args.name}`,
                publicKeyOpenssh: `ssh-ed25519 FAKE${h} ${args.name}`,
                publicKeyPem: `fake-pub-${args.name}`,
            };
        case "tls:index/selfSignedCert:SelfSignedCert":
        case "tls:index/locallySignedCert:LocallySignedCert":
            return { certPem: `-----BEGIN CERTIFICATE-----\nfake-${args.name}\n-----END CERTIFICATE-----\n` };
        case "tls:index/certRequest:CertRequest":
            return { certRequestPem: `fake-csr-${args.name}` };
        case "digitalocean:index/droplet:Droplet":
            return { ipv4Address: "203.0.113.10", ipv6Address: "2001:db8::10", urn: `do:droplet:${h}` };
        case "digitalocean:index/sshKey:SshKey":
            return { fingerprint: `fp:${h}` };
        case "docker:index/image:Image":
            return { imageName: i.imageName, repoDigest: `sha256:${shortHash(JSON.stringify(i)).repeat(8)}` };
        case "docker:index/remoteImage:RemoteImage":
            return { imageId: `sha256:${h.repeat(8)}`, repoDigest: `${i.name}@sha256:${h.repeat(8)}` };
        case "docker:index/network:Network":
        case "docker:index/volume:Volume":
            return { name: i.name ?? `${args.name}-${h.slice(0, 7)}` };
        case "docker:index/container:Container":
            // A container's id is 64 hex digits, whose first 12 Docker's DNS answers on its networks.
            return { id: h.repeat(8), name: i.name ?? `${args.name}-${h.slice(0, 7)}` };
        case "command:local:Command":
        case "command:remote:Command":
            return { stdout: "", stderr: "" };
        default:
            return {};
    }
}

function shortHash(s: string): string {
    return createHash("sha256").update(s).digest("hex").slice(0, 8);
}

/**
 * Runs `program` as a stack under mocks and returns everything it registered. Call it again in the
 * same process for a second, independent evaluation.
 */
export async function evaluate(program: () => unknown, options: EvaluateOptions = {}): Promise<Graph> {
    const project = options.project ?? "test";
    const stack = options.stack ?? "dev";
    const config: Record<string, string> = {};
    for (const [k, v] of Object.entries(options.config ?? {})) config[k.includes(":") ? k : `${project}:${k}`] = v;
    pulumi.runtime.setAllConfig(config);

    const recorded: RecordedResource[] = [];
    interface Registration {
        parent?: pulumi.Resource;
        provider?: pulumi.ProviderResource;
        deps: Promise<Set<string>>;
        options: RecordedResource["options"];
    }
    const registered = new Map<string, Registration>();
    const keyOf = new WeakMap<object, string>();
    const faker = options.outputs ?? fakeOutputs;

    await pulumi.runtime.setMocks(
        {
            newResource: async args => {
                const faked = await faker(args);
                const outputs = { ...unwrapSecrets(args.inputs), ...faked };
                recorded.push({
                    type: args.type,
                    name: args.name,
                    key: `${args.type}::${args.name}`,
                    rawInputs: args.inputs,
                    inputs: unwrapSecrets(args.inputs),
                    outputs,
                    custom: args.custom !== false,
                    deps: new Set(),
                    options: {},
                });
                // An id the outputs bring (the simulated DigitalOcean API's, a container's) is the resource's id, as a
                // provider's is.
                return {
                    id: typeof faked.id === "string" && faked.id ? faked.id : args.id || `${args.name}-id`,
                    state: outputs,
                };
            },
            call: async args => args.inputs,
        },
        project,
        stack,
        false,
    );

    const result: Record<string, unknown> = {};
    const secretOutputs = new Set<string>();
    await pulumi.runtime.runInPulumiStack(async () => {
        // A stack transformation sees every resource as it is constructed, with its options and raw props.
        pulumi.runtime.registerStackTransformation(t => {
            const key = `${t.type}::${t.name}`;
            keyOf.set(t.resource, key);
            const o = t.opts as pulumi.CustomResourceOptions & pulumi.ComponentResourceOptions;
            registered.set(key, {
                parent: o.parent,
                provider: o.provider,
                deps: collectDeps(t.props, o, keyOf),
                options: {
                    deleteBeforeReplace: o.deleteBeforeReplace,
                    replaceOnChanges: o.replaceOnChanges,
                    ignoreChanges: o.ignoreChanges,
                    retainOnDelete: o.retainOnDelete,
                },
            });
            return undefined;
        });
        const out = await program();
        if (out && typeof out === "object") {
            for (const [k, v] of Object.entries(out as Record<string, unknown>)) {
                const { value, secret } = await resolve(v as pulumi.Input<unknown>);
                result[k] = value;
                if (secret) secretOutputs.add(k);
            }
        }
        return {};
    });
    await pulumi.runtime.disconnect();

    for (const r of recorded) {
        const reg = registered.get(r.key);
        if (!reg) continue; // the stack resource itself
        r.parent = reg.parent ? keyOf.get(reg.parent) : undefined;
        r.provider = reg.provider ? keyOf.get(reg.provider) : undefined;
        for (const d of await reg.deps) if (d !== r.key) r.deps.add(d);
        if (r.provider) r.deps.add(r.provider);
        Object.assign(r.options, reg.options);
    }
    return new Graph(
        recorded.filter(r => r.type !== "pulumi:pulumi:Stack"),
        result,
        secretOutputs,
    );
}

/** Every resource a new resource waits for: dependsOn, the resources behind its input Outputs. */
async function collectDeps(
    props: unknown,
    opts: pulumi.ResourceOptions,
    keyOf: WeakMap<object, string>,
): Promise<Set<string>> {
    const found = new Set<pulumi.Resource>();
    const outputs: any[] = [];
    const walk = (v: unknown, depth: number) => {
        if (depth > 20 || v === null || v === undefined) return;
        if (pulumi.Output.isInstance(v)) {
            outputs.push(v);
            return;
        }
        if (pulumi.Resource.isInstance(v)) {
            found.add(v);
            return;
        }
        if (Array.isArray(v)) {
            v.forEach(x => walk(x, depth + 1));
            return;
        }
        if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
            Object.values(v as object).forEach(x => walk(x, depth + 1));
        }
    };
    walk(props, 0);
    const dependsOn = opts.dependsOn;
    if (pulumi.Output.isInstance(dependsOn)) outputs.push(dependsOn);
    else walk(dependsOn, 0);
    for (const o of outputs) {
        const all = o.allResources ? await o.allResources() : o.resources();
        for (const r of all) found.add(r);
        if (o === dependsOn) for (const r of [await o.promise()].flat()) if (r) found.add(r);
    }
    const keys = new Set<string>();
    for (const r of found) {
        const k = keyOf.get(r);
        if (k) keys.add(k);
    }
    return keys;
}
