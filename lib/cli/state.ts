// Reads a stack's state in the format of `pulumi stack export --show-secrets` (the sandbox's
// `export` prints the same) and finds what the day-two commands work on: each Host and how to reach
// its Docker API, each App and database and their containers. Only what a command needs is kept:
// environment variable NAMES, never their values; the Docker credentials stay in memory.
import { SCHEDULE_JOBS } from "../render/schedules";
import { CliError } from "./errors";

/** The marker Pulumi puts on a secret value in state: `{ [SIG]: SECRET, plaintext | ciphertext }`. */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";
export const SECRET_MARK = "1b47061264138c4ac30d75fd1eb44270";

export const HOST_TYPE = "dropyard:index:Host";
export const APP_TYPE = "dropyard:index:App";
export const DATABASE_TYPES: Record<string, DatabaseKind> = {
    "dropyard:index:Postgres": "postgres",
    "dropyard:index:MariaDB": "mariadb",
};
export const DOCKER_PROVIDER = "pulumi:providers:docker";
export const CONTAINER_TYPE = "docker:index/container:Container";
export const IMAGE_TYPE = "docker:index/image:Image";
export const REMOTE_IMAGE_TYPE = "docker:index/remoteImage:RemoteImage";
/** Host commands: local on a `local` host, over SSH on a droplet or server. */
export const COMMAND_TYPES = ["command:local:Command", "command:remote:Command"];

const LABEL_APP = "dev.dropyard.app";
const LABEL_PROCESS = "dev.dropyard.process";
const LABEL_ROLE = "dev.dropyard.role";

export type DatabaseKind = "postgres" | "mariadb";

/** How to reach a host's Docker API: `unix://…` or `tcp://…` with the mutual-TLS client material. */
export interface DockerEndpoint {
    /** The provider's `host`; absent means the local engine (`DOCKER_HOST` or the default socket). */
    readonly host?: string;
    readonly ca?: string;
    readonly cert?: string;
    readonly key?: string;
}

export interface HostInfo {
    readonly name: string;
    readonly docker: DockerEndpoint;
    /**
     * Whether this stack owns the host (it runs the host's edge), as opposed to attaching to it: `ps` in
     * the host's stack lists every stack's apps there.
     */
    readonly owned: boolean;
}

export interface ContainerInfo {
    /** The Pulumi resource name, e.g. `counter-web-1`. */
    readonly resource: string;
    /** The Docker container's name. */
    readonly name: string;
    /** The Docker container id, when the state has it. */
    readonly id?: string;
    /** The App's process type (`web`, a worker type); absent for databases. */
    readonly process?: string;
    readonly image?: string;
    /** Names of the environment variables it was given (values are never read). */
    readonly envKeys: readonly string[];
    readonly host: string;
}

export interface AppInfo {
    readonly name: string;
    readonly host: string;
    readonly containers: readonly ContainerInfo[];
    /** A built app's image repository on its host (`dropyard/<host>-<app>`), where its releases are tags. */
    readonly repo?: string;
    /** The release the stack pins it to (config `dropyard:releases`), when it does. */
    readonly pinned?: number;
    /** The image a pulled app runs (`image:`); such an app has no releases. */
    readonly pulled?: string;
    /** Scheduled jobs (`App.schedules`), with their cron expressions. */
    readonly schedules: readonly { readonly name: string; readonly cron: string }[];
}

export interface DatabaseInfo {
    readonly name: string;
    readonly kind: DatabaseKind;
    readonly host: string;
    readonly containers: readonly ContainerInfo[];
    /** With `backup`: the host directory of its backup scripts and status (lib/render/backup.ts backupPaths). */
    readonly backupDir?: string;
}

export interface StackModel {
    /** `project/stack`, from the URNs. */
    readonly stack: string;
    readonly hosts: readonly HostInfo[];
    readonly apps: readonly AppInfo[];
    readonly databases: readonly DatabaseInfo[];
}

interface RawResource {
    urn: string;
    type: string;
    id?: string;
    custom?: boolean;
    parent?: string;
    provider?: string;
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
}

/** Replaces every secret envelope by its value; an encrypted one means the export lacked --show-secrets. */
export function unwrapSecrets(v: unknown, where = "state"): unknown {
    if (Array.isArray(v)) return v.map(x => unwrapSecrets(x, where));
    if (v === null || typeof v !== "object") return v;
    const o = v as Record<string, unknown>;
    if (o[SECRET_SIG] === SECRET_MARK) {
        if (typeof o.plaintext === "string") return unwrapSecrets(JSON.parse(o.plaintext), where);
        if ("value" in o) return unwrapSecrets(o.value, where);
        throw new CliError(
            `${where}: secrets are encrypted; export the state with --show-secrets (pulumi stack export --show-secrets)`,
        );
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrapSecrets(x, where)]));
}

/** `urn:pulumi:<stack>::<project>::<type chain>::<name>` → its parts. */
export function parseUrn(urn: string): { stack: string; project: string; type: string; name: string } {
    const parts = urn.split("::");
    if (parts.length < 4 || !parts[0].startsWith("urn:pulumi:")) throw new CliError(`not a Pulumi URN: ${urn}`);
    const chain = parts[2].split("$");
    return {
        stack: parts[0].slice("urn:pulumi:".length),
        project: parts[1],
        type: chain[chain.length - 1],
        name: parts.slice(3).join("::"),
    };
}

/** The URN part of a provider reference (`<urn>::<id>`). */
function providerUrn(ref: string): string {
    return ref.slice(0, ref.lastIndexOf("::"));
}

function str(v: unknown): string | undefined {
    return typeof v === "string" && v !== "" ? v : undefined;
}

/** Docker `labels` as the provider keeps them (`[{ label, value }]`) → a map. */
function labelMap(v: unknown): Record<string, string> {
    const out: Record<string, string> = {};
    if (Array.isArray(v)) for (const l of v) if (l && typeof l.label === "string") out[l.label] = String(l.value);
    return out;
}

/**
 * The model of a stack from its exported state (the parsed JSON of `pulumi stack export
 * --show-secrets`). `source` names where it came from, for error messages.
 */
export function readStackState(exported: unknown, source: string): StackModel {
    const resources = (exported as { deployment?: { resources?: unknown } } | null)?.deployment?.resources;
    if (!Array.isArray(resources))
        throw new CliError(
            `${source}: not a Pulumi stack export (no deployment.resources); give the output of \`pulumi stack export --show-secrets\``,
        );
    const all: RawResource[] = resources.filter(
        (r): r is RawResource => r && typeof r.urn === "string" && typeof r.type === "string",
    );
    const byUrn = new Map(all.map(r => [r.urn, r]));
    const input = (r: RawResource, field: string) => unwrapSecrets(r.inputs?.[field], source);
    const output = (r: RawResource, field: string) => unwrapSecrets(r.outputs?.[field] ?? r.inputs?.[field], source);

    /** The nearest ancestor (or the resource itself) of one of `types`. */
    const ancestor = (r: RawResource | undefined, types: (t: string) => boolean): RawResource | undefined => {
        for (let seen = 0; r && seen < 100; seen++, r = r.parent ? byUrn.get(r.parent) : undefined)
            if (types(r.type)) return r;
        return undefined;
    };
    const nameOf = (r: RawResource) => parseUrn(r.urn).name;

    // Hosts: each Host component and the docker provider under it. A provider of no Host (made by
    // hand in the program) still names a place containers run: it counts, under its own name.
    const hostByProvider = new Map<string, string>();
    const hosts: Omit<HostInfo, "owned">[] = [];
    for (const p of all.filter(r => r.type === DOCKER_PROVIDER)) {
        const owner = ancestor(p, t => t === HOST_TYPE);
        const name = owner ? nameOf(owner) : nameOf(p);
        hostByProvider.set(p.urn, name);
        hosts.push({
            name,
            docker: {
                host: str(input(p, "host")),
                ca: str(input(p, "caMaterial")),
                cert: str(input(p, "certMaterial")),
                key: str(input(p, "keyMaterial")),
            },
        });
    }

    type MutableApp = {
        name: string;
        host: string;
        containers: ContainerInfo[];
        repo?: string;
        pinned?: number;
        pulled?: string;
        schedules: { name: string; cron: string }[];
    };
    const apps = new Map<string, MutableApp>();
    const databases = new Map<
        string,
        { name: string; kind: DatabaseKind; host: string; containers: ContainerInfo[]; backupDir?: string }
    >();
    for (const r of all) {
        if (r.type === APP_TYPE) apps.set(nameOf(r), { name: nameOf(r), host: "", containers: [], schedules: [] });
        const kind = DATABASE_TYPES[r.type];
        if (kind) databases.set(nameOf(r), { name: nameOf(r), kind, host: "", containers: [] });
    }
    const owned = new Set<string>();
    for (const r of all.filter(x => x.type === CONTAINER_TYPE)) {
        const labels = labelMap(output(r, "labels"));
        const host = r.provider ? (hostByProvider.get(providerUrn(r.provider)) ?? "") : "";
        if (labels[LABEL_ROLE] === "edge") owned.add(host);
        const envs = output(r, "envs");
        const c: ContainerInfo = {
            resource: nameOf(r),
            name: str(output(r, "name")) ?? nameOf(r),
            id: str(r.id),
            process: labels[LABEL_PROCESS],
            image: str(output(r, "image")),
            envKeys: Array.isArray(envs) ? envs.map(e => String(e).split("=")[0]) : [],
            host,
        };
        const owner = ancestor(r, t => t === APP_TYPE || t in DATABASE_TYPES);
        const appName = owner?.type === APP_TYPE ? nameOf(owner) : owner ? undefined : labels[LABEL_APP];
        if (appName !== undefined) {
            const app = apps.get(appName) ?? { name: appName, host: "", containers: [], schedules: [] };
            apps.set(appName, { ...app, host: app.host || host, containers: [...app.containers, c] });
        } else if (owner) {
            const db = databases.get(nameOf(owner))!;
            databases.set(db.name, { ...db, host: db.host || host, containers: [...db.containers, c] });
        }
    }
    // Each App's image: built (its repository holds the release tags), a pinned release, or pulled.
    for (const r of all.filter(x => x.type === IMAGE_TYPE || x.type === REMOTE_IMAGE_TYPE)) {
        const owner = ancestor(r, t => t === APP_TYPE);
        const app = owner && apps.get(nameOf(owner));
        if (!app || nameOf(r) !== `${app.name}-image`) continue;
        const ref = str(input(r, r.type === IMAGE_TYPE ? "imageName" : "name")) ?? "";
        const release = /^(.+):release-([1-9][0-9]*)$/.exec(ref);
        if (r.type === IMAGE_TYPE) app.repo = ref.replace(/:[^:/]+$/, "");
        else if (release) {
            app.repo = release[1];
            app.pinned = Number(release[2]);
        } else app.pulled = ref;
    }
    // Each database's backup: the directory its backup step's delete script removes the scripts from.
    for (const r of all.filter(x => COMMAND_TYPES.includes(x.type))) {
        const owner = ancestor(r, t => t in DATABASE_TYPES);
        const db = owner && databases.get(nameOf(owner));
        if (!db || nameOf(r) !== `${db.name}-backup`) continue;
        const m = /'(\/[^']*)\/backup\.sh'/.exec(String(input(r, "delete") ?? ""));
        if (m) databases.set(db.name, { ...db, backupDir: m[1] });
    }
    // Each App's scheduled jobs: the names and cron expressions its schedules step has in its environment.
    for (const r of all.filter(x => COMMAND_TYPES.includes(x.type))) {
        const owner = ancestor(r, t => t === APP_TYPE);
        const app = owner && apps.get(nameOf(owner));
        if (!app || nameOf(r) !== `${app.name}-schedules`) continue;
        const env = input(r, "environment") as Record<string, unknown> | undefined;
        let jobs: unknown;
        try {
            jobs = JSON.parse(String(env?.[SCHEDULE_JOBS] ?? "{}"));
        } catch {
            jobs = {};
        }
        if (jobs && typeof jobs === "object")
            app.schedules = Object.entries(jobs).map(([name, cron]) => ({ name, cron: String(cron) }));
    }
    const first = all[0] ? parseUrn(all[0].urn) : undefined;
    return {
        stack: first ? `${first.project}/${first.stack}` : "",
        hosts: hosts.map(h => ({ ...h, owned: owned.has(h.name) })),
        apps: [...apps.values()],
        databases: [...databases.values()],
    };
}
