// The sandbox's record of what it created for one stack: <repo>/.sandbox/<project>-<stack>-<dir hash>.json
// (gitignored, mode 0600: like Pulumi's state it holds secret values). Resources are kept in creation
// order, so deleting in reverse order always deletes dependents before what they depend on.
import {
    chmodSync,
    existsSync,
    mkdirSync,
    openSync,
    closeSync,
    readdirSync,
    readFileSync,
    renameSync,
    rmSync,
    writeFileSync,
} from "node:fs";
import { basename, join, resolve } from "node:path";
import { SandboxError } from "./lib/errors";
import { sha256 } from "./lib/stable";

export const REPO_ROOT = resolve(__dirname, "..");
export const STATE_DIR = join(REPO_ROOT, ".sandbox");

export interface StateResource {
    key: string;
    type: string;
    name: string;
    /** inputsHash of the inputs it was created (or last updated) with. */
    hash: string;
    /** Inputs as the provider received them, secret markers kept (so secrets are known at delete time too). */
    rawInputs: Record<string, unknown>;
    /** The values the sandbox handed the program: random values, keys, auto-names, command output. */
    outputs: Record<string, unknown>;
    /** What the engine knows it by: container id, network or volume name, image id. */
    engineId?: string;
    /** The unix socket of the engine it lives on (docker resources). */
    socket?: string;
    /** Keys of the custom resources it waited for, transitively: what it must be deleted before. */
    deps: string[];
    provider?: string;
    options: { deleteBeforeReplace?: boolean; retainOnDelete?: boolean; replaceOnChanges?: string[] };
    /** An old instance replaced create-before-delete: deleted at the end of the run. */
    condemned?: boolean;
}

export interface StackState {
    version: 1;
    project: string;
    stack: string;
    dir: string;
    resources: StateResource[];
    /** Resources deleted from the stack with retainOnDelete: left on the engine; `down --purge` removes them. */
    retained: StateResource[];
    /**
     * Every resource of the last evaluation, components too, with its parent's key: what `export`
     * needs to write URNs and parents as Pulumi's state has them. Absent in states of older sandboxes.
     */
    tree?: TreeNode[];
    /** The stack outputs of the last `up`, secret ones in clear (the file is 0600): what a StackReference reads. */
    outputs?: Record<string, unknown>;
    /** Names of the outputs that are secrets; a StackReference hands them on as secrets. */
    secretOutputs?: string[];
}

export interface TreeNode {
    key: string;
    type: string;
    name: string;
    custom: boolean;
    parent?: string;
}

export function statePath(project: string, stack: string, dir: string): string {
    const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, "_");
    return join(STATE_DIR, `${safe(project)}-${safe(stack)}-${sha256(resolve(dir)).slice(0, 8)}.json`);
}

export function loadState(project: string, stack: string, dir: string): StackState {
    const file = statePath(project, stack, dir);
    if (!existsSync(file)) return { version: 1, project, stack, dir: resolve(dir), resources: [], retained: [] };
    const s = JSON.parse(readFileSync(file, "utf8")) as StackState;
    if (s.version !== 1)
        throw new SandboxError(
            `${file}: state version ${s.version} is not understood; remove it (and what it created) by hand`,
        );
    return s;
}

/** Writes atomically, so an interrupted run never leaves half a file. */
export function saveState(s: StackState): void {
    const file = statePath(s.project, s.stack, s.dir);
    mkdirSync(STATE_DIR, { recursive: true });
    if (s.resources.length === 0 && s.retained.length === 0 && Object.keys(s.outputs ?? {}).length === 0) {
        rmSync(file, { force: true });
        return;
    }
    const tmp = join(STATE_DIR, `.${basename(file)}.tmp`);
    writeFileSync(tmp, JSON.stringify(s, null, 1) + "\n", { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
}

/**
 * The saved state a `pulumi.StackReference` names: `org/project/stack`, `project/stack` or `stack`
 * (of `currentProject`). The sandbox has one organization, so `org` is not compared. Exactly one
 * directory must have run that project and stack.
 */
export function referencedState(ref: string, currentProject: string): StackState {
    const parts = ref.split("/");
    if (parts.length > 3 || parts.some(p => p === "")) {
        throw new SandboxError(`StackReference "${ref}": give the stack as org/project/stack, project/stack or stack`);
    }
    const stack = parts[parts.length - 1];
    const project = parts.length >= 2 ? parts[parts.length - 2] : currentProject;
    const found = (existsSync(STATE_DIR) ? readdirSync(STATE_DIR) : [])
        .filter(f => f.endsWith(".json") && !f.startsWith("."))
        .map(f => JSON.parse(readFileSync(join(STATE_DIR, f), "utf8")) as StackState)
        .filter(s => s.project === project && s.stack === stack);
    if (found.length === 0) {
        throw new SandboxError(
            `StackReference "${ref}": the sandbox has no state of stack ${project}/${stack}; run \`npm run sandbox -- up <its dir> --stack ${stack}\` first`,
        );
    }
    if (found.length > 1) {
        throw new SandboxError(
            `StackReference "${ref}": stack ${project}/${stack} was deployed from ${found.length} directories (${found.map(s => s.dir).join(", ")}); take one down`,
        );
    }
    return found[0];
}

/** The live (not condemned) entry for a key. */
export function live(s: StackState, key: string): StateResource | undefined {
    return s.resources.find(r => r.key === key && !r.condemned);
}

/**
 * Takes the stack's lock for one `up` or `down`: two runs changing one stack at once would each
 * create what the other deletes. A lock left by a process that is gone is taken over.
 * Returns the function that releases it.
 */
export function lockState(project: string, stack: string, dir: string): () => void {
    const file = statePath(project, stack, dir) + ".lock";
    mkdirSync(STATE_DIR, { recursive: true });
    for (let attempt = 0; attempt < 2; attempt++) {
        try {
            const fd = openSync(file, "wx", 0o600);
            writeFileSync(fd, String(process.pid));
            closeSync(fd);
            return () => rmSync(file, { force: true });
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
            const pid = Number(readFileSync(file, "utf8"));
            if (pid > 0 && pid !== process.pid && alive(pid)) {
                throw new SandboxError(
                    `stack ${project}/${stack} is being changed by process ${pid}; wait for it (or remove ${file} if that process is not the sandbox)`,
                );
            }
            rmSync(file, { force: true }); // stale
        }
    }
    throw new SandboxError(`cannot take the lock ${file}`);
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM";
    }
}
