// Provider outputs with real values, for the harness's `outputs` hook. Values are STABLE: while a
// resource's inputs are unchanged (or change only in fields updated in place), what the last run gave
// it (from the state) is given again; a resource about to be replaced gets new values (new password,
// new auto-name), as Pulumi's providers would. Images are built for real here, so `repoDigest` is the
// real image id; RemoteImages are read from the engine every run. A command's output exists only
// after it ran: until then it is PENDING_OUTPUT, and what uses it waits for the next pass.
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import { unwrapSecrets, OutputFaker } from "./harness";
import { changedFields, PENDING_OUTPUT } from "./applier";
import { carriesPending, PENDING_CONTAINER_ID } from "./lib/pending";
import { digitaloceanOutputs } from "./digitalocean";
import { Engine } from "./docker";
import { resourceError } from "./lib/errors";
import { lastLines } from "./lib/exec";
import { checkSupported } from "./lib/fields";
import { randomOutputs } from "./lib/random-values";
import { Scrubber } from "./lib/secrets";
import { inputsHash } from "./lib/stable";
import {
    certRequestOutputs,
    locallySignedCertOutputs,
    privateKeyOutputs,
    selfSignedCertOutputs,
} from "./lib/tls-values";
import { updatableInPlace } from "./resources";
import { live, referencedState, StackState } from "./state";

export interface EvalContext {
    state: StackState;
    scrubber: Scrubber;
    /** The program's directory: relative build contexts mean this. */
    dir: string;
    /** The program's project: a StackReference to a bare stack name means one of it. */
    project: string;
    /** Errors met while producing outputs; thrown after the evaluation (a throwing mock would hang it). */
    errors: Error[];
    log: (line: string) => void;
    /** Inputs (host, TLS material) of each docker provider seen so far, by provider name. */
    providerHosts: Map<string, Record<string, any>>;
}

/** Outputs that are secret by nature, whatever the program does with them. */
const SECRET_OUTPUTS: Record<string, string[]> = {
    "random:index/randomPassword:RandomPassword": ["result"],
    "random:index/randomBytes:RandomBytes": ["hex", "base64"],
    "tls:index/privateKey:PrivateKey": ["privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"],
};

const AUTONAMED = new Set([
    "docker:index/container:Container",
    "docker:index/network:Network",
    "docker:index/volume:Volume",
]);

export function realOutputs(ctx: EvalContext): OutputFaker {
    return async (args: pulumi.runtime.MockResourceArgs) => {
        if (args.custom === false) return {}; // components (and the stack) have no provider
        const key = `${args.type}::${args.name}`;
        const inputs = unwrapSecrets(args.inputs) as Record<string, any>;
        try {
            checkSupported(args.type, args.name, inputs);
            const prior = live(ctx.state, key);
            const same = prior !== undefined && prior.hash === inputsHash(inputs);
            // An in-place update keeps the resource, and so its auto-name (a command's output is new, though).
            const kept =
                same ||
                (prior !== undefined &&
                    !args.type.startsWith("command:") &&
                    updatableInPlace(args.type, changedFields(unwrapSecrets(prior.rawInputs), inputs)));
            if (args.type === "pulumi:providers:docker") ctx.providerHosts.set(args.name, inputs);
            const out = await produce(ctx, args, inputs, kept ? prior!.outputs : undefined);
            // A container's id is the engine's, as the provider gives it: known once the container exists, new
            // with each replacement. What carries it waits for the pass after the container was created.
            if (args.type === "docker:index/container:Container")
                out.id = kept && prior!.engineId ? prior!.engineId : PENDING_CONTAINER_ID;
            for (const field of SECRET_OUTPUTS[args.type] ?? []) ctx.scrubber.add(out[field]);
            return out;
        } catch (e) {
            ctx.errors.push(e as Error);
            return {};
        }
    };
}

/**
 * The engine behind a resource's provider (`urn…::…$pulumi:providers:docker::<name>::<id>`), else the default; or
 * undefined for a remote Host's daemon that is not there yet: its provider waits for the bootstrap, so until an
 * earlier pass created the provider, what would be read from the engine (a built image's id) is not known.
 */
function engineFor(ctx: EvalContext, provider: string | undefined): Engine | undefined {
    // The type in a URN carries its parents' types: `dropyard:index:Host$pulumi:providers:docker`.
    const parts = (provider ?? "").split("::");
    const at = parts.findIndex(p => p.split("$").pop() === "pulumi:providers:docker");
    const inputs = at >= 0 ? (ctx.providerHosts.get(parts[at + 1]) ?? {}) : {};
    if (String(inputs.host ?? "").startsWith("tcp://") && !live(ctx.state, `pulumi:providers:docker::${parts[at + 1]}`))
        return undefined;
    return Engine.forProvider(inputs);
}

/** What an image resource gives before its engine exists: resources that use it wait for a later pass. */
const PENDING_IMAGE = { imageId: PENDING_OUTPUT, repoDigest: PENDING_OUTPUT };

async function produce(
    ctx: EvalContext,
    args: pulumi.runtime.MockResourceArgs,
    i: Record<string, any>,
    prior: Record<string, any> | undefined,
): Promise<Record<string, any>> {
    const { type, name } = args;
    if (type.startsWith("random:index/")) return prior ?? randomOutputs(type, name, i);
    if (type.startsWith("digitalocean:")) return digitaloceanOutputs(type, name, i, prior);
    // A certificate for an address not known yet (a droplet's, before it exists) waits for a later pass.
    if (!prior && type.startsWith("tls:") && carriesPending(JSON.stringify(i))) {
        return { certPem: PENDING_OUTPUT, certRequestPem: PENDING_OUTPUT };
    }
    switch (type) {
        case "tls:index/privateKey:PrivateKey":
            return prior ?? privateKeyOutputs(type, name, i);
        case "tls:index/selfSignedCert:SelfSignedCert":
            return prior ?? selfSignedCertOutputs(type, name, i);
        case "tls:index/certRequest:CertRequest":
            return prior ?? certRequestOutputs(type, name, i);
        case "tls:index/locallySignedCert:LocallySignedCert":
            return prior ?? locallySignedCertOutputs(type, name, i);
        case "docker:index/image:Image": {
            const engine = engineFor(ctx, args.provider);
            return engine ? buildImage(ctx, engine, type, name, i) : { imageName: i.imageName, ...PENDING_IMAGE };
        }
        // Read from the engine on every run: a rebuilt stand-in has a new id, and its containers follow.
        case "docker:index/remoteImage:RemoteImage": {
            const engine = engineFor(ctx, args.provider);
            return engine ? remoteImage(ctx, engine, type, name, i) : { name: i.name, ...PENDING_IMAGE };
        }
        case "pulumi:pulumi:StackReference":
            return stackReference(ctx, i.name);
        case "command:local:Command":
        case "command:remote:Command":
            if (prior) return prior;
            // Output of a command exists only after it ran; resources that use it wait for a later pass.
            return { stdout: PENDING_OUTPUT, stderr: PENDING_OUTPUT };
        default:
            if (AUTONAMED.has(type)) {
                // Pulumi's auto-name: `<resource name>-<7 hex>`, kept while the resource is, new on replacement.
                const auto = `${name}-${randomBytes(4).toString("hex").slice(0, 7)}`;
                return { name: i.name ?? (prior?.name as string | undefined) ?? auto };
            }
            return {};
    }
}

/**
 * A StackReference reads the referenced stack's saved outputs on every run, as Pulumi does; the
 * secret ones go on as secrets (their names in `secretOutputNames`) and are masked in this run's output.
 */
function stackReference(ctx: EvalContext, ref: string): Record<string, any> {
    let s: StackState;
    try {
        s = referencedState(ref, ctx.project);
    } catch (e) {
        // Reported after the evaluation; meanwhile the program reads no outputs rather than failing on undefined.
        ctx.errors.push(e as Error);
        return { name: ref, outputs: {}, secretOutputNames: [] };
    }
    const outputs = s.outputs ?? {};
    const secretOutputNames = s.secretOutputs ?? [];
    for (const k of secretOutputNames) {
        ctx.scrubber.addSecretInputs({ [specialSigKey]: specialSecretSig, value: outputs[k] });
    }
    return { name: ref, outputs, secretOutputNames };
}

async function remoteImage(
    ctx: EvalContext,
    engine: Engine,
    type: string,
    name: string,
    i: Record<string, any>,
): Promise<Record<string, any>> {
    let image = await engine.imageInspect(i.name);
    if (!image && engine.tls) {
        // A remote Host's daemon pulls for real, through its registry mirror (the sandbox's registry).
        ctx.log(`pull ${i.name} on ${engine.host}`);
        const r = await engine.cli(["pull", "--quiet", i.name]);
        if (r.code !== 0) {
            throw resourceError(
                type,
                name,
                "name",
                `"${i.name}" could not be pulled on ${engine.host}`,
                "put the image in the sandbox's registry (sandbox/registry.ts mirrorImages)",
                { "docker pull output": lastLines(r.stderr || r.stdout, 10) },
            );
        }
        image = await engine.imageInspect(i.name);
    }
    if (!image) {
        throw resourceError(
            type,
            name,
            "name",
            `"${i.name}" is not on the local engine and the sandbox cannot pull`,
            "build the stand-in images first (bash sandbox/images/build.sh), or `docker build`/`docker tag` an image with that name",
        );
    }
    // Images built here have no registry digest; the image id is what docker accepts in its place.
    return { imageId: image.Id, repoDigest: image.RepoDigests?.[0] ?? image.Id, name: i.name };
}

/**
 * Builds run one at a time. The engine's classic builder caches a step per parallel build, so two apps
 * built at once from the same first steps (FROM, ENV, WORKDIR) get two cached copies of those steps;
 * a later build may then pick the other app's copy, miss its cache below that step and produce a new
 * image id for unchanged sources: a second `up` with no change would replace the app's containers.
 */
let buildQueue: Promise<unknown> = Promise.resolve();
export function oneBuildAtATime<T>(build: () => Promise<T>): Promise<T> {
    const run = buildQueue.then(build, build);
    buildQueue = run.catch(() => undefined);
    return run;
}

async function buildImage(
    ctx: EvalContext,
    engine: Engine,
    type: string,
    name: string,
    i: Record<string, any>,
): Promise<Record<string, any>> {
    if (i.skipPush !== true)
        throw resourceError(
            type,
            name,
            "skipPush",
            "is not true and the sandbox has no registry to push to",
            "set skipPush: true",
        );
    const b = i.build ?? {};
    const context = resolve(ctx.dir, b.context ?? ".");
    if (!existsSync(context))
        throw resourceError(
            type,
            name,
            "build.context",
            `"${context}" does not exist`,
            "give the directory holding the Dockerfile",
        );
    // A relative dockerfile is taken from the program's directory, else from the context.
    const dockerfile =
        b.dockerfile === undefined
            ? join(context, "Dockerfile")
            : isAbsolute(b.dockerfile)
              ? b.dockerfile
              : existsSync(resolve(ctx.dir, b.dockerfile))
                ? resolve(ctx.dir, b.dockerfile)
                : resolve(context, b.dockerfile);
    if (!existsSync(dockerfile))
        throw resourceError(
            type,
            name,
            "build.dockerfile",
            `"${dockerfile}" does not exist`,
            "add a Dockerfile or point build.dockerfile at one",
        );

    const tmp = mkdtempSync(join(tmpdir(), "dropyard-build-"));
    try {
        const iidfile = join(tmp, "iid");
        const env: Record<string, string> = {};
        const args = ["build", "--quiet", "--iidfile", iidfile, "--file", dockerfile];
        // Build args travel in the environment (`--build-arg NAME`), so secret ones never sit in argv.
        for (const [k, v] of Object.entries<string>(b.args ?? {})) {
            args.push("--build-arg", k);
            env[k] = String(v);
        }
        if (b.target) args.push("--target", b.target);
        args.push(context);
        ctx.log(`build ${i.imageName} from ${context}`);
        const started = Date.now();
        const r = await oneBuildAtATime(() => engine.cli(args, { env }));
        if (r.code !== 0) {
            throw resourceError(
                type,
                name,
                "build",
                `failed (docker build exit ${r.code})`,
                "fix the Dockerfile or the build context",
                { "docker build output (last lines)": lastLines(r.stderr || r.stdout, 20) },
            );
        }
        const imageId = readFileSync(iidfile, "utf8").trim();
        ctx.log(`built ${i.imageName} = ${imageId.slice(0, 19)} in ${Date.now() - started} ms`);
        return {
            imageName: i.imageName,
            repoDigest: imageId,
            context,
            dockerfile,
            registryServer: "",
            baseImageName: i.imageName,
        };
    } finally {
        rmSync(tmp, { recursive: true, force: true });
    }
}
