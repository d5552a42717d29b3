// The names each component creates on a host — Docker containers (and the aliases containers answer
// to), volumes, networks, images, files in the host's data directory and /etc/cron.d, domains on the
// edge — computed by one function per component, claimed once per host before the component exists,
// and the only source the resources take their names from. A second claim of a name is a
// ConfigError naming both components and the object, so two components can never share (and then
// overwrite or delete) one Docker object or file.
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ErrorFactory } from "./errors";

/**
 * What a name names, and where it must be unique: `stack` across the program, `engine` on one
 * Docker engine, `machine` on one file system, `edge` on one host's edge nginx.
 */
const KINDS = {
    host: { scope: "stack", object: "host", verb: "create", already: "uses" },
    dataDir: { scope: "machine", object: "data directory", verb: "use", already: "uses" },
    container: { scope: "engine", object: "Docker container name", verb: "create", already: "uses" },
    app: { scope: "engine", object: "app label", verb: "create", already: "uses" },
    volume: { scope: "engine", object: "Docker volume", verb: "create", already: "uses" },
    network: { scope: "engine", object: "Docker network", verb: "create", already: "uses" },
    image: { scope: "engine", object: "Docker image", verb: "create", already: "uses" },
    file: { scope: "machine", object: "file", verb: "create", already: "uses" },
    domain: { scope: "edge", object: "domain", verb: "serve", already: "serves" },
    port: { scope: "engine", object: "host port", verb: "publish", already: "publishes" },
} as const;

export type Kind = keyof typeof KINDS;

/** One name a component will create, with the argument it comes from and how to pick another. */
export interface Name {
    readonly kind: Kind;
    readonly name: string;
    /** The argument the name is made from, e.g. `"volumes.data"` or `"name"`. */
    readonly field: string;
    readonly fix: string;
    /** Words for the object instead of `<kind> "<name>"`, e.g. "every name no other vhost claims". */
    readonly text?: string;
}

export function named(kind: Kind, name: string, field: string, fix = "pick another name", text?: string): Name {
    return { kind, name, field, fix, text };
}

/** Where a host's names live: the keys of its Docker engine and file system. */
export interface HostScope {
    readonly hostName: string;
    readonly engine: string;
    readonly machine: string;
    /** Claims are compared within one root: the stack being evaluated. */
    readonly root: object;
    /** The host's own names, for its Edge. */
    readonly names: HostNames;
    /**
     * What components claimed on this host in this stack, for the deploy-time ownership check
     * (Host reads it once the program has constructed its components; see `Host.ready`).
     */
    readonly claimed: Name[];
    /** Set once the check has read `claimed`: a later claim is handed to `late` to be checked on its own. */
    readonly ownership: { sealed: boolean; late?: (names: Name[]) => void };
}

const scopes = new WeakMap<object, HostScope>();
const registries = new WeakMap<object, Map<string, string>>();

/**
 * The scope a new host's names go in. `engine` and `machine` identify where its objects end up, so
 * two hosts on one engine (two `local` hosts, two servers at one address) share their namespace.
 */
export function hostScope(
    hostName: string,
    target: { local?: string; server?: string; droplet?: true },
    names: HostNames,
): HostScope {
    // Claims are compared across the stack being evaluated. Outside one — a bare constructor call in
    // a test, or after the program returned (the stack registered its outputs) — each host is a
    // world of its own.
    const stack = pulumi.runtime.getStackResource() as (object & { __registered?: boolean }) | undefined;
    const root: object = stack !== undefined && stack.__registered !== true ? stack : {};
    const engine =
        target.local !== undefined
            ? `local ${target.local}`
            : target.server !== undefined
              ? `ssh ${target.server}`
              : `droplet ${hostName}`;
    const machine = target.local !== undefined ? "local" : engine;
    return { hostName, engine, machine, root, names, claimed: [], ownership: { sealed: false } };
}

/** Binds a constructed Host to the scope its names were claimed in. */
export function bindHost(host: object, scope: HostScope): void {
    scopes.set(host, scope);
}

/** Whether `value` is a constructed Host (one whose names are bound), without importing Host. */
export function isHost(value: unknown): boolean {
    return typeof value === "object" && value !== null && scopes.has(value);
}

/** The scope of a constructed Host. */
export function scopeOf(host: object): HostScope {
    const scope = scopes.get(host);
    if (scope === undefined) throw new Error("dropyard: a Host that was not constructed (its names are unknown)");
    return scope;
}

/** Every Name in a tree of names (objects, lists and maps of Names; undefined entries skipped). */
export function namesIn(tree: unknown): Name[] {
    if (tree === undefined || tree === null || typeof tree !== "object") return [];
    if (Array.isArray(tree)) return tree.flatMap(namesIn);
    if ("kind" in tree && "name" in tree && "field" in tree) return [tree as Name];
    return Object.values(tree).flatMap(namesIn);
}

function keyOf(scope: HostScope, n: Name): string {
    const where = KINDS[n.kind].scope;
    const at =
        where === "stack"
            ? ""
            : where === "engine"
              ? scope.engine
              : where === "machine"
                ? scope.machine
                : `edge of ${scope.hostName}`;
    return `${at}\n${n.kind}\n${n.name}`;
}

function words(n: Name): string {
    return n.text ?? `${KINDS[n.kind].object} "${n.name}"`;
}

/**
 * Claims every name in `tree` for `owner` (e.g. `App "web"`), all or none: each is checked against
 * the names already claimed in the scope (and the others in `tree`) first, and only when none is
 * taken are they all recorded. Call it after every other check of the component has passed.
 */
export function claim(err: ErrorFactory, scope: HostScope, owner: string, tree: unknown): void {
    const registry = registries.get(scope.root) ?? new Map<string, string>();
    const mine = new Map<string, Name>();
    for (const n of namesIn(tree)) {
        const key = keyOf(scope, n);
        const kind = KINDS[n.kind];
        const other = registry.get(key) ?? (mine.has(key) ? `its own ${mine.get(key)!.field}` : undefined);
        if (other !== undefined) {
            throw err(n.field, `would ${kind.verb} ${words(n)}, which ${other} already ${kind.already}`, n.fix);
        }
        mine.set(key, n);
    }
    for (const key of mine.keys()) registry.set(key, owner);
    registries.set(scope.root, registry);
    if (scope.ownership.sealed) scope.ownership.late?.([...mine.values()]);
    else scope.claimed.push(...mine.values());
}

/** Every name claimed in `host`'s stack so far, for tests: kind, name and owner. */
export function claimedNames(host: object): { kind: Kind; name: string; owner: string }[] {
    const registry = registries.get(scopeOf(host).root) ?? new Map<string, string>();
    return [...registry].map(([key, owner]) => {
        const [, kind, name] = key.split("\n");
        return { kind: kind as Kind, name, owner };
    });
}

/** The directories and files of a host's edge under its data directory. */
export interface EdgeDirs {
    /** The edge's nginx.conf (a file, bind-mounted over the image's). */
    readonly mainConfig: string;
    readonly confDir: string;
    readonly certsDir: string;
    readonly letsencryptDir: string;
    readonly webrootDir: string;
    readonly certbotDir: string;
    readonly lockFile: string;
}

export function edgeDirs(dataDir: string): EdgeDirs {
    return {
        mainConfig: path.posix.join(dataDir, "nginx", "nginx.conf"),
        confDir: path.posix.join(dataDir, "nginx", "conf.d"),
        certsDir: path.posix.join(dataDir, "certs"),
        letsencryptDir: path.posix.join(dataDir, "letsencrypt"),
        webrootDir: path.posix.join(dataDir, "acme"),
        certbotDir: path.posix.join(dataDir, "certbot"),
        lockFile: path.posix.join(dataDir, "edge.lock"),
    };
}

// --- the names each component creates -----------------------------------------------------------

export interface HostNames {
    readonly host: Name;
    readonly dataDir: Name;
    readonly edgeNetwork: Name;
    readonly edge: {
        readonly container: Name;
        readonly defaultConfig: Name;
        readonly dirs: EdgeDirs;
        /** Host addresses and ports the edge publishes HTTP and HTTPS on, one Name per address and port. */
        readonly ports: readonly { readonly ip: string; readonly http: Name; readonly https: Name }[];
    };
}

/** Where the edge publishes: the Host's `edge` options with their defaults. */
export interface EdgePorts {
    readonly bindAddresses: readonly string[];
    readonly httpPort: number;
    readonly httpsPort: number;
}

export function hostNames(name: string, dataDir: string, dataDirGiven: boolean, edge: EdgePorts): HostNames {
    const dirs = edgeDirs(dataDir);
    const fix =
        "publish this host's edge on other ports or addresses (edge.httpPort, edge.httpsPort, edge.bindAddresses)";
    const port = (ip: string, p: number, field: string) =>
        named("port", `${ip.includes(":") ? `[${ip}]` : ip}:${p}`, field, fix);
    return {
        // Its droplet, SSH key, firewall, provider and ~/.dropyard directory carry the name.
        host: named("host", name, "name", "give each host its own name"),
        dataDir: named(
            "dataDir",
            dataDir,
            dataDirGiven ? "dataDir" : "name",
            "give each host on one machine its own dataDir",
        ),
        edgeNetwork: named("network", `${name}-edge`, "name"),
        edge: {
            container: named("container", `${name}-nginx`, "name"),
            defaultConfig: named(
                "file",
                path.posix.join(dirs.confDir, "00-dropyard.conf"),
                "dataDir",
                "give each host on one machine its own dataDir",
            ),
            dirs,
            ports: edge.bindAddresses.map(ip => ({
                ip,
                http: port(ip, edge.httpPort, "edge.httpPort"),
                https: port(ip, edge.httpsPort, "edge.httpsPort"),
            })),
        },
    };
}

export function databaseNames(name: string, ownNetwork: boolean) {
    return {
        volume: named("volume", `${name}-data`, "name"),
        // Also the host name linked apps reach it by.
        container: named("container", name, "name"),
        network: ownNetwork
            ? named("network", `${name}-net`, "name", "pick another name, or give networks")
            : undefined,
    };
}

export function bridgeNetNames(name: string, networkName: string | undefined) {
    return {
        network:
            networkName === undefined
                ? named("network", name, "name", "pick another name, or set networkName")
                : named("network", networkName, "networkName", "pick another networkName"),
    };
}

export function appNames(
    scope: HostScope,
    name: string,
    a: { build: boolean; volumeKeys: readonly string[]; web: boolean; isPublic: boolean },
) {
    return {
        // Volumes first: a volume taken from another component is the costliest mistake to report late.
        volumes: Object.fromEntries(
            a.volumeKeys.map(key => [
                key,
                named("volume", `${name}-${key}`, `volumes.${key}`, "pick another key or name"),
            ]),
        ),
        image: a.build ? named("image", `dropyard/${scope.hostName}-${name}:latest`, "build") : undefined,
        // Its containers' label (the prune step selects by it) and, with a web process, their network alias.
        label: named("app", name, "name"),
        alias: a.web
            ? named(
                  "container",
                  name,
                  "name",
                  "pick another name",
                  `Docker container name "${name}" (its web containers' alias)`,
              )
            : undefined,
        upstreamFile:
            a.web && a.isPublic
                ? named("file", path.posix.join(scope.names.edge.dirs.confDir, `upstream-${name}.conf`), "name")
                : undefined,
    };
}

export function vhostNames(scope: HostScope, name: string, domains: readonly string[], ownCertificate: boolean) {
    const dirs = scope.names.edge.dirs;
    return {
        config: named("file", path.posix.join(dirs.confDir, `vhost-${name}.conf`), "name"),
        certDir: ownCertificate ? named("file", path.posix.join(dirs.certsDir, name), "name") : undefined,
        domains:
            domains.length > 0
                ? domains.map((d, i) => named("domain", d, `domains[${i}]`, "serve each name from one vhost"))
                : [named("domain", "", "domains", "give this vhost its names", "every name no other vhost claims")],
    };
}

export function letsEncryptNames(scope: HostScope, certName: string, autoRenew: boolean) {
    const dirs = scope.names.edge.dirs;
    const fix = "put all the names on one certificate, or start this one with a different name";
    return {
        lineage: named(
            "file",
            path.posix.join(dirs.letsencryptDir, "live", certName),
            "domains[0]",
            fix,
            `certificate lineage "${certName}"`,
        ),
        stateDir: named("file", path.posix.join(dirs.certbotDir, certName), "domains[0]", fix),
        // cron ignores /etc/cron.d files with dots in their names.
        cronFile: autoRenew
            ? named(
                  "file",
                  `/etc/cron.d/dropyard-${scope.hostName}-${certName.replace(/[^A-Za-z0-9_-]/g, "-")}`,
                  "domains[0]",
                  `${fix}, or set autoRenew: false`,
              )
            : undefined,
    };
}
