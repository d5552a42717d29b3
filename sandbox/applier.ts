// Plan and apply a recorded program with Pulumi's semantics; the model (create-before-delete, deleteBeforeReplace,
// leftovers last, dependency order) is told once in docs/architecture.md, "The sandbox's apply model".
import { Graph, RecordedResource, unwrapSecrets } from "./harness";
import { errorAbout, SandboxError } from "./lib/errors";
import { carriesPending, PENDING_CONTAINER_ID } from "./lib/pending";
import { checkSupported } from "./lib/fields";
import { stringLeaves } from "./lib/secrets";
import { inputsHash, stableStringify } from "./lib/stable";
import {
    ApplyContext,
    createResource,
    deleteResource,
    updatableInPlace,
    updateResource,
    validateValues,
} from "./resources";
import { live, saveState, StackState, StateResource } from "./state";

export type Action = "create" | "replace" | "update" | "same" | "delete";

export interface Step {
    resource: RecordedResource;
    action: Exclude<Action, "delete">;
    /** Replace by deleting the old instance first (deleteBeforeReplace, or a dependent of one). */
    deleteFirst: boolean;
    /** Top-level input fields that changed. */
    changed: string[];
    /** Custom resources it waits for, transitively (recorded in the state: deletes go dependents first). */
    after: string[];
}

export { PENDING_OUTPUT } from "./lib/pending";

/** Top-level input fields whose values differ. */
export function changedFields(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys].filter(k => stableStringify(before[k]) !== stableStringify(after[k])).sort();
}

/** Custom resources of the graph in an order where every resource comes after what it depends on. */
export function dependencyOrder(graph: Graph): RecordedResource[] {
    const custom = graph.resources.filter(r => r.custom);
    const keys = new Set(custom.map(r => r.key));
    const deps = new Map(
        custom.map(r => [r.key, [...graph.dependenciesOf(r.key)].filter(k => keys.has(k) && k !== r.key)]),
    );
    const done = new Set<string>();
    const out: RecordedResource[] = [];
    while (out.length < custom.length) {
        const next = custom.find(r => !done.has(r.key) && deps.get(r.key)!.every(d => done.has(d)));
        if (!next)
            throw new SandboxError(
                `dependency cycle among: ${custom
                    .filter(r => !done.has(r.key))
                    .map(r => r.key)
                    .join(", ")}`,
            );
        done.add(next.key);
        out.push(next);
    }
    return out;
}

export function plan(graph: Graph, state: StackState): Map<string, Step> {
    const steps = new Map<string, Step>();
    for (const r of dependencyOrder(graph)) {
        const after = [...graph.dependenciesOf(r.key)];
        checkSupported(r.type, r.name, r.inputs);
        if (r.options.ignoreChanges?.length) {
            throw errorAbout(
                r,
                "option ignoreChanges",
                "is not supported by the sandbox (its diff compares every input)",
                "remove the option for sandbox runs",
            );
        }
        // Values not known yet (a droplet's address) are checked in the pass that knows them.
        if (!carriesPending(JSON.stringify(r.rawInputs))) validateValues(r);
        const prior = live(state, r.key);
        if (!prior || prior.hash === inputsHash(r.inputs)) {
            steps.set(r.key, {
                resource: r,
                action: prior ? "same" : "create",
                deleteFirst: false,
                changed: [],
                after,
            });
            continue;
        }
        const changed = changedFields(unwrapSecrets(prior.rawInputs), r.inputs);
        const inPlace = updatableInPlace(r.type, changed, r.options.replaceOnChanges);
        const deleteFirst = !inPlace && r.options.deleteBeforeReplace === true;
        steps.set(r.key, { resource: r, action: inPlace ? "update" : "replace", deleteFirst, changed, after });
    }
    // Deleting a resource first means first deleting the engine objects that use it (a container on a
    // network, say), and creating them again after: Pulumi replaces such dependents too.
    let grew = true;
    while (grew) {
        grew = false;
        for (const s of steps.values()) {
            if (!s.deleteFirst) continue;
            for (const d of steps.values()) {
                const kept = d.action === "same" || d.action === "update";
                if (kept && ENGINE_OBJECTS.has(d.resource.type) && uses(graph, d.resource, s.resource)) {
                    d.action = "replace";
                    d.deleteFirst = true;
                    grew = true;
                }
            }
        }
    }
    return steps;
}

/** Docker objects whose inputs are fixed at creation: using a replaced resource means being replaced. */
const ENGINE_OBJECTS = new Set([
    "docker:index/container:Container",
    "docker:index/network:Network",
    "docker:index/volume:Volume",
]);

/**
 * Whether `user` depends directly on `used` and carries one of its identifying outputs (its name, id, …) in its
 * inputs.
 */
function uses(graph: Graph, user: RecordedResource, used: RecordedResource): boolean {
    const direct = [...user.deps].some(d => graph.customResourcesUnder(d).some(c => c.key === used.key));
    if (!direct) return false;
    const identities = Object.entries(used.outputs)
        .filter(
            ([k, v]) =>
                typeof v === "string" && v.length >= 3 && !carriesPending(v) && (k === "name" || !(k in used.inputs)),
        )
        .map(([, v]) => v as string);
    const text = stringLeaves(user.inputs);
    return identities.some(id => text.some(t => t.includes(id)));
}

/**
 * Resources that cannot be applied in this pass: their inputs carry a value not known yet (a command's output, a
 * container's id before it exists, the id of one this plan replaces), or an image on an engine not there yet, or
 * they wait for one that does.
 */
export function deferred(graph: Graph, steps: Map<string, Step>): Set<string> {
    const out = new Set<string>();
    for (const r of dependencyOrder(graph)) {
        // An image whose engine is not there yet (a remote Host before its bootstrap) has pending outputs.
        const pendingImage = IMAGES.has(r.type) && carriesPending(JSON.stringify(r.outputs));
        if (
            pendingImage ||
            carriesPending(JSON.stringify(r.rawInputs)) ||
            carriesReplacedId(graph, r, steps) ||
            [...graph.dependenciesOf(r.key)].some(d => out.has(d))
        )
            out.add(r.key);
    }
    return out;
}

const IMAGES = new Set(["docker:index/image:Image", "docker:index/remoteImage:RemoteImage"]);

/**
 * Whether `r`'s inputs carry the id of a container this plan replaces: evaluated while the old one lived (a
 * dependent made again after a dependency replaced first keeps its inputs, and so the old id), they take the new
 * id in the pass after, as Pulumi's would once the replacement exists.
 */
function carriesReplacedId(graph: Graph, r: RecordedResource, steps: Map<string, Step>): boolean {
    const text = stringLeaves(r.inputs);
    return [...graph.dependenciesOf(r.key)].some(d => {
        const used = graph.byKey.get(d);
        const id = used?.outputs.id;
        return (
            used?.type === "docker:index/container:Container" &&
            steps.get(d)?.action === "replace" &&
            typeof id === "string" &&
            id !== PENDING_CONTAINER_ID &&
            // Its short id: Docker's DNS name for it, which an App's upstream group carries.
            text.some(t => t.includes(id.slice(0, 12)))
        );
    });
}

function entry(
    r: RecordedResource,
    after: string[],
    created: { engineId?: string; socket?: string; outputs?: Record<string, unknown> },
): StateResource {
    const { id: _id, urn: _urn, ...outputs } = { ...r.outputs, ...created.outputs } as Record<string, unknown>;
    void _id;
    void _urn;
    // The simulated DigitalOcean API's ids stay: a droplet keeps its id (and a firewall its droplet) while it lives.
    if (r.type.startsWith("digitalocean:")) Object.assign(outputs, { id: r.outputs.id, urn: r.outputs.urn });
    return {
        key: r.key,
        type: r.type,
        name: r.name,
        hash: inputsHash(r.inputs),
        rawInputs: r.rawInputs,
        outputs,
        engineId: created.engineId,
        socket: created.socket,
        deps: after,
        provider: r.provider,
        options: {
            deleteBeforeReplace: r.options.deleteBeforeReplace,
            retainOnDelete: r.options.retainOnDelete,
            replaceOnChanges: r.options.replaceOnChanges,
        },
    };
}

/** Applies one pass of a plan (skipping `skip`), saving the state after every step. Returns the actions taken. */
export async function applyPlan(
    steps: Map<string, Step>,
    skip: Set<string>,
    state: StackState,
    ctx: ApplyContext,
): Promise<Map<string, Action>> {
    const taken = new Map<string, Action>();
    const todo = [...steps.values()].filter(s => !skip.has(s.resource.key));

    // Creates, replacements and updates, dependencies first.
    for (const s of todo) {
        const r = s.resource;
        if (s.action === "replace" && s.deleteFirst) {
            // Delete-before-replace, now that what it depends on is done (a failure earlier in the run
            // leaves the old instance running): the old instance and the dependents replaced with it
            // go, dependents first (the newest first).
            const withIt = todo.filter(d => d.action === "replace" && d.deleteFirst && d.after.includes(r.key));
            const going = new Set([r.key, ...withIt.map(d => d.resource.key)]);
            for (const old of [...state.resources].reverse()) {
                if (old.condemned || !going.has(old.key)) continue;
                ctx.log(`delete ${old.type} ${old.name} (before replacing it)`);
                await deleteResource(old, ctx);
                state.resources.splice(state.resources.indexOf(old), 1);
                saveState(state);
            }
        }
        const prior = live(state, r.key);
        if (s.action === "same") {
            // Same inputs; outputs read from the engine (a RemoteImage's id) may still have moved on.
            if (prior) {
                const fresh = entry(r, s.after, {});
                Object.assign(prior, {
                    rawInputs: r.rawInputs,
                    outputs: { ...prior.outputs, ...fresh.outputs },
                    deps: fresh.deps,
                    provider: r.provider,
                    options: fresh.options,
                });
            }
            continue;
        }
        ctx.log(`${s.action} ${r.type} ${r.name}${s.changed.length ? ` (changed: ${s.changed.join(", ")})` : ""}`);
        if (s.action === "update" && prior) {
            const updated = entry(r, s.after, await updateResource(r, prior, s.changed, ctx));
            state.resources[state.resources.indexOf(prior)] = updated;
        } else {
            if (prior) prior.condemned = true; // create-before-delete: the old one goes at the end of the run
            try {
                state.resources.push(entry(r, s.after, await createResource(r, ctx)));
            } catch (e) {
                if (prior) prior.condemned = false; // the old one keeps serving
                throw e;
            }
        }
        taken.set(r.key, s.action);
        saveState(state);
    }
    saveState(state); // the refreshed entries of unchanged resources too
    return taken;
}

/**
 * Newest first (reverse creation order), except that nothing goes before a resource that depends on
 * it: Pulumi deletes dependents first, and creation order alone misses a dependency on something
 * replaced after the dependent was created (a command that depends on a container replaced since).
 */
export function dependentsFirst(resources: StateResource[]): StateResource[] {
    const left = [...resources].reverse();
    const out: StateResource[] = [];
    while (left.length > 0) {
        const free = left.findIndex(r => !left.some(o => o.key !== r.key && o.deps.includes(r.key)));
        out.push(...left.splice(Math.max(free, 0), 1)); // a cycle cannot be; if it were, newest first
    }
    return out;
}

/**
 * The end of a run: old instances of replaced resources and resources gone from the program are
 * deleted, dependents first (see dependentsFirst).
 * retainOnDelete resources are left on the engine and remembered for `down --purge`.
 */
export async function deleteLeftovers(
    graph: Graph | undefined,
    state: StackState,
    ctx: ApplyContext,
    purgeRetained = false,
): Promise<StateResource[]> {
    const wanted = new Set(graph ? graph.resources.filter(r => r.custom).map(r => r.key) : []);
    // A retained resource that a live one adopted again (same volume name, say) belongs to the live one now.
    const liveIds = new Set(state.resources.map(r => `${r.type} ${r.engineId}`));
    state.retained = state.retained.filter(r => !liveIds.has(`${r.type} ${r.engineId}`));
    const deleted: StateResource[] = [];
    for (const old of dependentsFirst(state.resources.filter(r => r.condemned || !wanted.has(r.key)))) {
        if (old.options.retainOnDelete && !purgeRetained) {
            ctx.log(`retain ${old.type} ${old.name} (retainOnDelete; \`down --purge\` removes it)`);
            state.retained.push(old);
        } else if (
            old.condemned &&
            old.engineId &&
            state.resources.some(r => r !== old && r.type === old.type && r.engineId === old.engineId)
        ) {
            // A fixed-name volume is adopted by its replacement (docker volume create is idempotent): keep it.
            ctx.log(`forget ${old.type} ${old.name} (replaced; its replacement uses the same ${old.engineId})`);
        } else {
            ctx.log(`delete ${old.type} ${old.name}${old.condemned ? " (replaced)" : ""}`);
            await deleteResource(old, ctx);
        }
        state.resources.splice(state.resources.indexOf(old), 1);
        if (!old.condemned) deleted.push(old);
        saveState(state);
    }
    if (purgeRetained) {
        for (const old of [...state.retained].reverse()) {
            ctx.log(`purge retained ${old.type} ${old.name}`);
            await deleteResource(old, ctx);
            state.retained.splice(state.retained.indexOf(old), 1);
            deleted.push(old);
            saveState(state);
        }
    }
    return deleted;
}
