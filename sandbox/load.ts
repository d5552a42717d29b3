// Loads a Pulumi stack directory the way `pulumi up` would: project and stack config, then the
// TypeScript program, run under the shared mock harness. `dropyard` resolves to this repo's lib/ and
// every `@pulumi/*` to this repo's node_modules, so the program, dropyard and the harness share ONE
// Pulumi SDK (two copies would not see each other's resources and secrets).
import Module from "node:module";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve, sep } from "node:path";
import { parse } from "yaml";
import { evaluate, Graph, OutputFaker } from "./harness";
import { SandboxError } from "./lib/errors";
import { REPO_ROOT } from "./state";

export interface StackProject {
    dir: string;
    project: string;
    stack: string;
    /** The program's entry file. */
    main: string;
    /** `namespace:key` -> value, as Pulumi hands config to a program. */
    config: Record<string, string>;
    /** Values of config keys declared secret, so they are never printed. */
    secretValues: string[];
}

export interface LoadOptions {
    /** @default "dev" */
    stack?: string;
    /** `key` or `namespace:key` -> value; bare keys belong to the project. Wins over the files. */
    config?: Record<string, string>;
}

function readYaml(file: string): any {
    try {
        return parse(readFileSync(file, "utf8")) ?? {};
    } catch (e) {
        throw new SandboxError(`${file}: ${(e as Error).message.split("\n")[0]}`);
    }
}

function configString(v: unknown): string {
    return typeof v === "string" ? v : JSON.stringify(v);
}

/** Pulumi.yaml of a project directory, parsed, and its path. */
export function projectFile(dir: string): { file: string; y: any } {
    const file = ["Pulumi.yaml", "Pulumi.yml"].map(f => join(dir, f)).find(existsSync);
    if (!file) throw new SandboxError(`${dir}: no Pulumi.yaml; give the directory of a Pulumi project`);
    const y = readYaml(file);
    if (typeof y.name !== "string" || !y.name) throw new SandboxError(`${file}: name is missing`);
    return { file, y };
}

export function loadProject(dirArg: string, opts: LoadOptions = {}): StackProject {
    const dir = resolve(dirArg);
    const { file: projectFileName, y } = projectFile(dir);
    const runtime = typeof y.runtime === "string" ? y.runtime : y.runtime?.name;
    if (runtime !== "nodejs")
        throw new SandboxError(
            `${projectFileName}: runtime "${runtime}" is not nodejs; the sandbox runs TypeScript stacks`,
        );
    const project: string = y.name;
    const stack = opts.stack ?? "dev";
    const ns = (k: string) => (k.includes(":") ? k : `${project}:${k}`);
    const config: Record<string, string> = {};
    const secretKeys = new Set<string>();

    // Lowest first: template defaults, project defaults, the stack file, then the command line.
    for (const [k, v] of Object.entries<any>(y.template?.config ?? {})) {
        if (v?.default !== undefined) config[ns(k)] = configString(v.default);
        if (v?.secret) secretKeys.add(ns(k));
    }
    for (const [k, v] of Object.entries<any>(y.config ?? {})) {
        const isSchema =
            v !== null && typeof v === "object" && !Array.isArray(v) && ("default" in v || "value" in v || "type" in v);
        const value = isSchema ? (v.value ?? v.default) : v;
        if (value !== undefined) config[ns(k)] = configString(value);
        if (isSchema && v.secret) secretKeys.add(ns(k));
    }
    const overrides = Object.fromEntries(Object.entries(opts.config ?? {}).map(([k, v]) => [ns(k), v]));
    const stackFile = [`Pulumi.${stack}.yaml`, `Pulumi.${stack}.yml`].map(f => join(dir, f)).find(existsSync);
    if (stackFile) {
        for (const [k, v] of Object.entries<any>(readYaml(stackFile).config ?? {})) {
            if (v && typeof v === "object" && "secure" in v) {
                secretKeys.add(ns(k));
                if (overrides[ns(k)] === undefined) {
                    throw new SandboxError(
                        `${stackFile}: config "${k}" is encrypted and the sandbox cannot decrypt it; pass it with --config ${k}=<value>`,
                    );
                }
                continue;
            }
            config[ns(k)] = configString(v);
        }
    }
    Object.assign(config, overrides);
    return {
        dir,
        project,
        stack,
        main: entryFile(dir, y.main),
        config,
        secretValues: [...secretKeys].map(k => config[k]).filter((v): v is string => v !== undefined),
    };
}

/** Pulumi's rule: `main` from Pulumi.yaml, else package.json's main, else index.ts / index.js. */
function entryFile(dir: string, main: unknown): string {
    let base = dir;
    if (typeof main === "string") {
        const p = resolve(dir, main);
        if (existsSync(p) && statSync(p).isFile()) return p;
        base = p;
    }
    const pkg = join(base, "package.json");
    if (existsSync(pkg)) {
        const m = JSON.parse(readFileSync(pkg, "utf8")).main;
        const isFile = (c: string) => existsSync(join(base, c)) && statSync(join(base, c)).isFile();
        if (typeof m === "string")
            for (const c of [m, `${m}.ts`, join(m, "index.ts")]) if (isFile(c)) return join(base, c);
    }
    for (const c of ["index.ts", "index.js"]) if (existsSync(join(base, c))) return join(base, c);
    throw new SandboxError(`${base}: no program found (index.ts, or main in Pulumi.yaml / package.json)`);
}

// tsx's CommonJS API (a devDependency). Required by name: the package's export map is the only way in,
// and this repo's `moduleResolution: node` cannot see export maps, hence the hand-written type.
const { register } = require("tsx/cjs/api") as { register: () => () => void };

type ResolveFilename = (request: string, parent: unknown, ...rest: unknown[]) => string;
const M = Module as unknown as { _resolveFilename: ResolveFilename; _cache: Record<string, unknown> };
const LIB_INDEX = join(REPO_ROOT, "lib", "index.ts");
const ROOT_MODULES = join(REPO_ROOT, "node_modules");

/**
 * Runs the program under the harness with `outputs` supplying provider outputs. Its module exports
 * (or what its exported function returns) are the stack outputs.
 */
export async function evaluateStack(p: StackProject, outputs: OutputFaker): Promise<Graph> {
    const unregister = register();
    const original = M._resolveFilename;
    M._resolveFilename = function (this: unknown, request: string, parent: unknown, ...rest: unknown[]) {
        if (request === "dropyard") return original.call(this, LIB_INDEX, parent, ...rest);
        if (request.startsWith("@pulumi/")) {
            return original.call(
                this,
                request,
                { id: ROOT_MODULES, filename: join(REPO_ROOT, "index.js"), paths: [ROOT_MODULES] },
                ...rest,
            );
        }
        return original.call(this, request, parent, ...rest);
    };
    // A fresh copy of the program and of dropyard for every evaluation: modules that create resources
    // when imported must run again. Everything under node_modules (the SDK above all) stays shared.
    for (const key of Object.keys(M._cache)) {
        const ours = key.startsWith(p.dir + sep) || key.startsWith(join(REPO_ROOT, "lib") + sep);
        if (ours && !key.includes(`${sep}node_modules${sep}`)) delete M._cache[key];
    }
    const cwd = process.cwd();
    process.chdir(p.dir); // Pulumi runs a program in its project directory; relative paths mean that.
    // A program that throws is caught here and its error rethrown after the evaluation ends: thrown
    // inside the stack, the SDK would also re-reject it on promises nobody awaits.
    let programError: { error: unknown } | undefined;
    try {
        const graph = await evaluate(
            async () => {
                try {
                    const mod = require(p.main);
                    const fn =
                        typeof mod === "function" ? mod : typeof mod?.default === "function" ? mod.default : undefined;
                    if (fn) return await fn();
                    const { __esModule, default: _default, ...exportsOnly } = mod ?? {};
                    void __esModule;
                    void _default;
                    return exportsOnly;
                } catch (error) {
                    programError = { error };
                    return {};
                }
            },
            { project: p.project, stack: p.stack, config: p.config, outputs },
        );
        if (programError) throw programError.error;
        return graph;
    } finally {
        process.chdir(cwd);
        M._resolveFilename = original;
        unregister();
    }
}
