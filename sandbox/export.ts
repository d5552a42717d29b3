// `npm run sandbox -- export <stack dir>`: the sandbox's state of a stack in the format of `pulumi
// stack export --show-secrets`, so `dropyard --state FILE` reads a sandbox stack through the same
// code as a real one. URNs and parents come from the last evaluation's resource tree; secrets are
// written as Pulumi writes them under --show-secrets: `{ <sig>: <secret>, plaintext: "<JSON>" }`.
import { resolve } from "node:path";
import { SandboxError } from "./lib/errors";
import { isSecretValue } from "./harness";
import { projectFile } from "./load";
import { loadState, statePath, StackState, TreeNode } from "./state";

const SIG = "4dabf18193072939515e22adb298388d";
const SECRET = "1b47061264138c4ac30d75fd1eb44270";
const STACK_TYPE = "pulumi:pulumi:Stack";

export interface ExportedResource {
    urn: string;
    custom: boolean;
    id?: string;
    type: string;
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
    parent?: string;
    provider?: string;
}

export interface StackExport {
    version: 3;
    deployment: { manifest: { time: string; magic: string; version: string }; resources: ExportedResource[] };
}

/** A value with the sandbox's secret markers turned into Pulumi's exported (shown) envelopes. */
function exportValue(v: unknown): unknown {
    if (isSecretValue(v)) return { [SIG]: SECRET, plaintext: JSON.stringify(plain(v.value)) };
    if (Array.isArray(v)) return v.map(exportValue);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, exportValue(x)]));
    return v;
}

function plain(v: unknown): unknown {
    if (isSecretValue(v)) return plain(v.value);
    if (Array.isArray(v)) return v.map(plain);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
    return v;
}

/** The export of the sandbox stack deployed from `dir` (see `up`); an error when there is none. */
export function exportStack(dir: string, opts: { stack?: string } = {}): StackExport {
    const abs = resolve(dir);
    const { y } = projectFile(abs);
    const stack = opts.stack ?? "dev";
    const state = loadState(y.name, stack, abs);
    if (state.resources.length === 0) {
        throw new SandboxError(
            `stack ${y.name}/${stack} of ${abs} is not deployed (no ${statePath(y.name, stack, abs)}); run \`npm run sandbox -- up ${dir}\` first`,
        );
    }
    return toExport(state);
}

/** The sandbox state as Pulumi's checkpoint (version 3) with the stack's resources, secrets shown. */
export function toExport(state: StackState): StackExport {
    const prefix = `urn:pulumi:${state.stack}::${state.project}::`;
    const tree = new Map<string, TreeNode>((state.tree ?? []).map(n => [n.key, n]));
    const stackNode = [...tree.values()].find(n => n.type === STACK_TYPE);
    const stackUrn = `${prefix}${STACK_TYPE}::${stackNode?.name ?? `${state.project}-${state.stack}`}`;
    // The type chain of a URN: the parent's types below the stack, then the resource's own.
    const chain = (key: string | undefined): string[] => {
        const n = key ? tree.get(key) : undefined;
        if (!n || n.type === STACK_TYPE) return [];
        return [...chain(n.parent), n.type];
    };
    const urnOf = (key: string, type: string, name: string) => {
        const types = tree.has(key) ? chain(key) : [type];
        return `${prefix}${types.join("$")}::${name}`;
    };
    /** Keys are `type::name`. */
    const urnOfKey = (key: string) => {
        const at = key.indexOf("::");
        return urnOf(key, key.slice(0, at), key.slice(at + 2));
    };
    const parentUrn = (key: string): string => {
        const p = tree.get(key)?.parent;
        const n = p ? tree.get(p) : undefined;
        return n && n.type !== STACK_TYPE ? urnOf(n.key, n.type, n.name) : stackUrn;
    };

    const live = state.resources.filter(r => !r.condemned);
    const idOf = new Map(live.map(r => [r.key, r.engineId ?? `${r.name}-sandbox`]));
    const resources: ExportedResource[] = [{ urn: stackUrn, custom: false, type: STACK_TYPE, outputs: {} }];
    for (const n of tree.values()) {
        if (n.custom || n.type === STACK_TYPE) continue;
        resources.push({ urn: urnOf(n.key, n.type, n.name), custom: false, type: n.type, parent: parentUrn(n.key) });
    }
    for (const r of live) {
        const inputs = exportValue(r.rawInputs) as Record<string, unknown>;
        resources.push({
            urn: urnOf(r.key, r.type, r.name),
            custom: true,
            id: idOf.get(r.key),
            type: r.type,
            inputs,
            // A provider's outputs are its inputs; a resource's are its inputs and what the provider returned.
            outputs: { ...inputs, ...(exportValue(r.outputs) as Record<string, unknown>) },
            parent: parentUrn(r.key),
            provider: r.provider ? `${urnOfKey(r.provider)}::${idOf.get(r.provider) ?? "unknown"}` : undefined,
        });
    }
    return {
        version: 3,
        deployment: {
            manifest: { time: new Date(0).toISOString(), magic: "", version: "dropyard-sandbox" },
            resources,
        },
    };
}
