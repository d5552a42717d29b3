import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { BridgeNet } from "./bridge-net";
import { Database, isDatabase } from "./database";
import { configErrors, ErrorFactory } from "./errors";
import { Host } from "./host";
import { tcpCheck } from "./render/healthcheck";
import { parseProcfile, processCommand, PROCESS_TYPE, ProcfileError } from "./render/procfile";
import { RELEASE_COMMAND, RELEASE_ENV_PREFIX, RELEASE_IMAGE, RELEASE_NETWORKS, releaseScript } from "./render/release";
import { checkEnvKey, checkPort, checkResourceName } from "./validate";

/** How Docker decides a web container is healthy. Times are in seconds. */
export interface AppHealthcheck {
    /**
     * The check. A string runs with `/bin/sh -c` (Docker's `CMD-SHELL`); an array runs as is (`CMD`).
     * @default - a TCP check that `port` accepts connections; see `tcpCheck` in lib/render/healthcheck.ts
     * @example "curl -fsS http://127.0.0.1:$PORT/healthz"
     */
    readonly command?: string | readonly string[];
    /** Seconds between checks. @default 5 */
    readonly interval?: number;
    /** Seconds one check may take. @default 5 */
    readonly timeout?: number;
    /** Failures in a row that make the container unhealthy. @default 3 */
    readonly retries?: number;
    /** Seconds the app may take to boot; failures in this time do not count. @default 60 */
    readonly startPeriod?: number;
}

/** Log rotation for the containers' json-file logs. */
export interface AppLogs {
    /** Size at which a log file is rotated, e.g. `"10m"`, `"500k"`. @default "10m" */
    readonly maxSize?: string;
    /** Rotated files kept per container. @default 3 */
    readonly maxFiles?: number;
}

export interface AppArgs {
    /** The host the app runs on. */
    readonly host: Host;
    /**
     * A directory holding a `Dockerfile` (and usually a `Procfile`), built on the host's Docker
     * engine into `dropyard/<host>-<app>:latest`. Excludes `image`.
     * @example build: "./app"
     */
    readonly build?: string;
    /**
     * An existing image to pull and run, e.g. `"wordpress:6.8-php8.4-apache"`. Excludes `build`.
     * Images pulled this way are kept on the host when the App goes (another component may use them).
     */
    readonly image?: string;
    /**
     * Process types and their commands, as a Procfile would give them; replaces the build
     * directory's `Procfile` when given. `web` serves HTTP on `$PORT`, `release` runs once per
     * deploy before the new containers start, every other type runs as a worker. Commands run with
     * `/bin/sh -c`; a simple command is `exec`ed so it gets the stop signal (see `processCommand`).
     * They replace the image's CMD; an ENTRYPOINT still runs first, as with `docker run IMAGE cmd`.
     * @default - the build directory's `Procfile`; without one, the image's own command runs as `web`
     * @example processes: { web: "gunicorn app:app", worker: "celery -A app worker", release: "flask db upgrade" }
     */
    readonly processes?: Readonly<Record<string, string>>;
    /**
     * Worker process types that must never run twice at once (a scheduler, a clock): on a redeploy
     * the old container is stopped before the new one starts instead of after.
     * @default []
     * @example singletons: ["clock"]
     */
    readonly singletons?: readonly string[];
    /**
     * Whether the app serves HTTP through the edge. When true the process types must include
     * `web` (an image without Procfile or `processes` runs its own command as `web`); set false for
     * an app of workers only.
     * @default true
     */
    readonly web?: boolean;
    /**
     * Whether web containers join the host's edge network, where the edge nginx (and any other
     * public app) can reach them. Set false for an internal service that only the apps sharing one
     * of its `networks` may call; a NginxVhost then refuses it as an upstream.
     * @default true
     */
    readonly public?: boolean;
    /** The port the web process listens on, given to it as `PORT`. @default 5000 */
    readonly port?: number;
    /** How many web containers run; the edge spreads requests over them. @default 1 */
    readonly replicas?: number;
    /** Plain environment variables for every process and the release step. @default {} */
    readonly env?: Readonly<Record<string, pulumi.Input<string>>>;
    /** Environment variables kept secret in the state and the recorded inputs. @default {} */
    readonly secrets?: Readonly<Record<string, pulumi.Input<string>>>;
    /**
     * Databases whose `env` (e.g. `DATABASE_URL`) the app receives and whose networks it joins.
     * The app's environment then becomes secret as a whole.
     * @default []
     */
    readonly link?: readonly Database[];
    /** Extra networks every container joins; web containers answer on them under the app's name. @default [] */
    readonly networks?: readonly BridgeNet[];
    /**
     * Named volumes that survive redeploys: key → path in the container. The Docker volume is
     * called `<app>-<key>`.
     * @default {}
     * @example volumes: { "wp-content": "/var/www/html/wp-content" }
     */
    readonly volumes?: Readonly<Record<string, string>>;
    /**
     * The web containers' healthcheck; a new container must pass it before the old one is removed.
     * `false` turns it off (and with it the wait: replacements are then not checked).
     * @default - every 5 s, timeout 5 s, 3 retries, 60 s to boot, checking that `port` accepts TCP connections
     */
    readonly healthcheck?: AppHealthcheck | false;
    /** json-file log rotation. @default { maxSize: "10m", maxFiles: 3 } */
    readonly logs?: AppLogs;
    /**
     * Seconds a stopping container gets to finish in-flight requests after SIGTERM before it is killed.
     * @default 30
     */
    readonly stopGraceSeconds?: number;
}

/** One process type: `command` undefined runs the image's own command. */
interface Proc { readonly type: string; readonly command?: string }

const IMAGE_LABEL = "dev.dropyard.app";

/**
 * An application: an image built from a directory (or pulled), its release step, its web
 * containers behind the edge and its workers, the Heroku way.
 *
 * A deploy whose image digest or environment changed: (1) builds the image; (2) runs `release`
 * in a throwaway container of that exact digest — a failure stops here, old containers untouched;
 * (3) starts new web containers (same network alias as the old ones, so the edge's DNS lookups
 * find both) and waits until each passes its healthcheck; (4) starts new workers (a singleton's
 * old container is stopped first); (5) prunes this app's untagged images; (6) Pulumi then stops the
 * old containers, giving each `stopGraceSeconds` to finish its requests. An unchanged digest and
 * environment change nothing.
 *
 * @example
 * const app = new App("counter", { host, build: "./app", link: [db], env: { ALLOWED_HOSTS: "counter.example.com" } });
 */
export class App extends pulumi.ComponentResource {
    /** The app's name: its containers' label, its volumes' prefix and its network alias. */
    readonly appName: string;
    /** The name web containers answer to on the edge network and the app's networks. */
    readonly alias: string;
    /** Whether the app has a web process. */
    readonly hasWeb: boolean;
    /** Whether its web containers are on the host's edge network (see `AppArgs.public`). */
    readonly isPublic: boolean;
    /** The port the web process listens on inside its containers. */
    readonly webPort: number;
    /** Process types and commands; `undefined` means the image's own command. */
    readonly processes: Readonly<Record<string, string | undefined>>;
    /** The image digest every container runs (for a build, the local image ID `sha256:…`). */
    readonly imageDigest: pulumi.Output<string>;
    /** The built (`docker.Image`) or pulled (`docker.RemoteImage`) image. */
    readonly image: docker.Image | docker.RemoteImage;
    /** The release step, when there is a `release` process. */
    readonly release?: pulumi.CustomResource;
    /** Containers by role: `web-1` … `web-N` and one per worker type. */
    readonly containers: Readonly<Record<string, docker.Container>>;
    readonly host: Host;

    constructor(name: string, args: AppArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dropyard:index:App", name, {}, opts);
        const spec = normalize(name, args);
        const host = args.host;
        this.host = host;
        this.appName = name;
        this.alias = name;
        this.hasWeb = spec.web !== undefined;
        this.isPublic = args.public ?? true;
        this.webPort = spec.port;
        this.processes = Object.fromEntries(spec.procs.map(p => [p.type, p.command]));

        const child = { parent: this, provider: host.provider, dependsOn: host.ready };
        if ("build" in spec.source) {
            this.image = new docker.Image(`${name}-image`, {
                imageName: `dropyard/${host.hostName}-${name}:latest`,
                build: { context: spec.source.build, dockerfile: labelledDockerfile(host.hostName, name, spec.source.build) },
                skipPush: true,
            }, child);
            this.imageDigest = this.image.repoDigest;
        } else {
            // Kept locally: other components may run the same image, and removing it would fail.
            this.image = new docker.RemoteImage(`${name}-image`, { name: spec.source.image, keepLocally: true }, child);
            this.imageDigest = this.image.imageId;
        }

        const volumes = spec.volumes.map(([key, containerPath]) => ({
            containerPath,
            volumeName: new docker.Volume(`${name}-volume-${key}`, {
                name: `${name}-${key}`,
                labels: [{ label: IMAGE_LABEL, value: name }],
            }, { ...child, deleteBeforeReplace: true }).name,
        }));

        const appNets = spec.networks.map(n => n.networkName);
        const dbNets = spec.links.flatMap(db => db.networkNames);
        const dbResources = spec.links.filter(db => pulumi.Resource.isInstance(db)) as unknown as pulumi.Resource[];
        const envs = envList(spec, {});

        if (spec.release !== undefined) {
            this.release = host.command(`${name}-release`, {
                create: releaseScript(name, spec.envKeys),
                environment: releaseEnvironment(spec, this.imageDigest, uniqueNames([...appNets, ...dbNets]), spec.release),
                triggers: [this.imageDigest],
            }, { parent: this, dependsOn: dbResources });
        }
        // Web and worker containers wait for the release step: a failing release stops the deploy
        // while the old containers keep serving.
        const after = [...dbResources, ...(this.release ? [this.release] : [])];

        const common = (type: string): docker.ContainerArgs => ({
            image: this.imageDigest,
            restart: "unless-stopped",
            logDriver: "json-file",
            logOpts: { "max-size": spec.logs.maxSize, "max-file": String(spec.logs.maxFiles) },
            stopTimeout: spec.grace,
            destroyGraceSeconds: spec.grace,
            labels: [{ label: IMAGE_LABEL, value: name }, { label: "dev.dropyard.process", value: type }],
            volumes: volumes.length > 0 ? volumes : undefined,
        });
        const containers: Record<string, docker.Container> = {};
        if (spec.web) {
            const web = spec.web;
            const webEnvs = envList(spec, { PORT: String(spec.port) });
            const networks = joinNetworks(this.isPublic ? [host.edgeNetwork.name, ...appNets] : appNets, dbNets, name);
            for (let i = 1; i <= spec.replicas; i++) {
                // No name and no published port: Pulumi creates the replacement before deleting the
                // old container (pulumi-docker#1356), and `wait` holds the delete until it is healthy.
                containers[`web-${i}`] = new docker.Container(`${name}-web-${i}`, {
                    ...common("web"),
                    command: web.command === undefined ? undefined : processCommand(web.command),
                    envs: webEnvs,
                    networksAdvanced: networks,
                    healthcheck: spec.healthcheck?.input,
                    wait: spec.healthcheck !== undefined,
                    waitTimeout: spec.healthcheck?.waitSeconds,
                }, { ...child, dependsOn: [...host.ready, ...after] });
            }
        }
        const workerNets = appNets.length + dbNets.length > 0 ? joinNetworks([], [...appNets, ...dbNets], name) : undefined;
        for (const proc of spec.workers) {
            containers[proc.type] = new docker.Container(`${name}-${proc.type}`, {
                ...common(proc.type),
                command: proc.command === undefined ? undefined : processCommand(proc.command),
                envs,
                networksAdvanced: workerNets,
            }, { ...child, dependsOn: [...host.ready, ...after], deleteBeforeReplace: spec.singletons.has(proc.type) });
        }
        this.containers = containers;

        if ("build" in spec.source) {
            // Each rebuild leaves the previous image untagged. Prune this app's untagged images once
            // the new containers run; the one the old containers still use goes on the next deploy.
            host.command(`${name}-prune`, {
                create: `docker image prune --force --filter label=${IMAGE_LABEL}=${name}`,
                triggers: [this.imageDigest],
            }, { parent: this, dependsOn: Object.values(containers) });
        }

        this.registerOutputs({ imageDigest: this.imageDigest, alias: this.alias, hasWeb: this.hasWeb, webPort: this.webPort });
    }
}

/** Everything the constructor needs, validated, with defaults applied. */
interface Spec {
    readonly source: { readonly build: string } | { readonly image: string };
    readonly procs: readonly Proc[];
    readonly web?: Proc;
    readonly workers: readonly Proc[];
    readonly release?: string;
    readonly singletons: ReadonlySet<string>;
    readonly port: number;
    readonly replicas: number;
    readonly env: Readonly<Record<string, pulumi.Input<string>>>;
    readonly secrets: Readonly<Record<string, pulumi.Input<string>>>;
    readonly links: readonly Database[];
    /** Every variable name the app's processes get from env, secrets and links (not PORT). */
    readonly envKeys: readonly string[];
    /** Whether the environment as a whole must be secret. */
    readonly secret: boolean;
    readonly networks: readonly BridgeNet[];
    readonly volumes: ReadonlyArray<readonly [string, string]>;
    readonly healthcheck?: { readonly input: docker.types.input.ContainerHealthcheck; readonly waitSeconds: number };
    readonly logs: Required<AppLogs>;
    readonly grace: number;
}

function normalize(name: string, args: AppArgs): Spec {
    const err = configErrors("App", name);
    checkResourceName(err, "name", name);
    if (!(args.host instanceof Host)) throw err("host", "is not a Host", "pass the Host the app runs on");
    const source = checkSource(err, args);
    const procs = readProcesses(err, args, "build" in source ? source.build : undefined);
    const web = procs.find(p => p.type === "web");
    const release = procs.find(p => p.type === "release")?.command;
    const workers = procs.filter(p => p.type !== "web" && p.type !== "release");

    const singletons = new Set(args.singletons ?? []);
    for (const s of singletons) {
        if (!workers.some(p => p.type === s)) {
            throw err("singletons", `names "${s}", which is not a worker process type`,
                `name worker types only (have: ${workers.map(p => p.type).join(", ") || "none"})`);
        }
    }
    const port = args.port ?? 5000;
    checkPort(err, "port", port);
    const replicas = args.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 1) {
        throw err("replicas", `${replicas} is not a whole number of at least 1`, "run at least one web container, e.g. replicas: 2");
    }
    if (args.replicas !== undefined && !web) throw err("replicas", "is set but the app has no web process", "drop replicas");

    const env = args.env ?? {};
    const secrets = args.secrets ?? {};
    const links = checkLinks(err, args);
    const envKeys = checkEnvKeys(err, env, secrets, links, web !== undefined, release !== undefined);
    const networks = (args.networks ?? []).map((n, i) => {
        if (!(n instanceof BridgeNet)) throw err(`networks[${i}]`, "is not a BridgeNet", "pass BridgeNet components");
        if (n.host !== args.host) {
            throw err(`networks[${i}]`, `is on host "${n.host.hostName}", not "${args.host.hostName}"`,
                "join networks created on this App's host");
        }
        return n;
    });
    if (args.public === false && networks.length === 0) {
        throw err("public", "is false but the app joins no network", "list the networks its callers share in networks, e.g. networks: [frontnet]");
    }
    if (!web && args.healthcheck) throw err("healthcheck", "is set but the app has no web process", "drop healthcheck; it applies to web containers");
    return {
        source, procs, web, workers, release, singletons, port, replicas, env, secrets, links, envKeys,
        secret: Object.keys(secrets).length > 0 || links.length > 0,
        networks,
        volumes: checkVolumes(err, name, args.volumes ?? {}),
        healthcheck: web && args.healthcheck !== false ? healthcheck(err, args.healthcheck ?? {}, port) : undefined,
        logs: checkLogs(err, args.logs ?? {}),
        grace: checkWhole(err, "stopGraceSeconds", args.stopGraceSeconds ?? 30, 0, 3600),
    };
}

function checkSource(err: ErrorFactory, args: AppArgs): Spec["source"] {
    if ((args.build === undefined) === (args.image === undefined)) {
        throw err("build", args.build === undefined ? "and image are both missing" : "and image are both given",
            "give exactly one: build (a directory with a Dockerfile) or image (an image to pull)");
    }
    if (args.image !== undefined) {
        if (!/^[^\s]+$/.test(args.image)) throw err("image", `"${args.image}" is not an image name`, 'use e.g. "wordpress:6.8-php8.4-apache"');
        return { image: args.image };
    }
    const dir = args.build!;
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
        throw err("build", `directory "${dir}" does not exist`, "point build at the directory holding the app's Dockerfile");
    }
    if (!fs.existsSync(path.join(dir, "Dockerfile"))) {
        throw err("build", `directory "${dir}" has no Dockerfile`, "add a Dockerfile there or use image to run an existing image");
    }
    return { build: dir };
}

/** Process types from `processes`, else the build directory's Procfile, else the image's command. */
function readProcesses(err: ErrorFactory, args: AppArgs, buildDir: string | undefined): Proc[] {
    const takesTraffic = args.web ?? true;
    let procs: Proc[];
    let field: string;
    const procfile = buildDir === undefined ? undefined : path.join(buildDir, "Procfile");
    if (args.processes !== undefined) {
        field = "processes";
        procs = Object.entries(args.processes).map(([type, command]) => {
            if (!PROCESS_TYPE.test(type)) {
                throw err(`processes.${type}`, "is not a valid process type", "use letters, digits, _ and - only");
            }
            if (typeof command !== "string" || command.trim() === "") {
                throw err(`processes.${type}`, "has no command", "give the command to run");
            }
            return { type, command: command.trim() };
        });
    } else if (procfile !== undefined && fs.existsSync(procfile)) {
        field = "Procfile";
        try {
            procs = parseProcfile(fs.readFileSync(procfile, "utf8")).map(e => ({ type: e.type, command: e.command }));
        } catch (e) {
            if (e instanceof ProcfileError) throw err(`Procfile line ${e.line}`, e.problem, e.fix);
            throw e;
        }
    } else {
        return [{ type: takesTraffic ? "web" : "worker" }];
    }
    const hasWeb = procs.some(p => p.type === "web");
    if (takesTraffic && !hasWeb) {
        throw err(field, "has no web process",
            "add web: <command> for the process serving HTTP on $PORT, or set web: false for an app without HTTP");
    }
    if (!takesTraffic && hasWeb) throw err("web", `is false but ${field} has a web process`, "remove the web process or drop web: false");
    const replica = procs.find(p => /^web-\d+$/.test(p.type));
    if (replica) throw err(`${field}`, `has a process type "${replica.type}", the name of a web replica`, "rename that process type");
    if (!procs.some(p => p.type !== "release")) throw err(field, "has only a release process", "add the processes to run");
    return procs;
}

function checkLinks(err: ErrorFactory, args: AppArgs): Database[] {
    return (args.link ?? []).map((db, i) => {
        if (!isDatabase(db)) throw err(`link[${i}]`, "is not a database", "link Postgres or MariaDB components");
        if (db.host !== args.host) {
            throw err(`link[${i}]`, `is database "${db.databaseName}" on host "${db.host.hostName}"`,
                `link databases on the App's host "${args.host.hostName}"`);
        }
        return db;
    });
}

/** Checks names and collisions across env, secrets and links; returns every name in order. */
function checkEnvKeys(err: ErrorFactory, env: Spec["env"], secrets: Spec["secrets"], links: readonly Database[],
    web: boolean, release: boolean): string[] {
    const from = new Map<string, string>();
    const add = (key: string, field: string, source: string) => {
        checkEnvKey(err, field, key);
        if (web && key === "PORT") throw err(`${field}.PORT`, "is set by the App from port", "set the port argument instead");
        if (release && key.startsWith("DOCKER_")) {
            throw err(`${field}.${key}`, "would redirect the docker client that runs the release step", "rename the variable");
        }
        from.set(key, source);
    };
    for (const key of Object.keys(env)) add(key, "env", "env");
    for (const key of Object.keys(secrets)) {
        if (from.has(key)) throw err(`secrets.${key}`, "is also set in env", "keep it in secrets only");
        add(key, "secrets", "secrets");
    }
    links.forEach((db, i) => db.envKeys.forEach(key => {
        const earlier = from.get(key);
        if (earlier === "env" || earlier === "secrets") {
            throw err(`${earlier}.${key}`, `is also set by linked database "${db.databaseName}"`, `remove it from ${earlier}; the link sets it`);
        }
        if (earlier !== undefined) {
            throw err(`link[${i}]`, `sets ${key}, which ${earlier} sets too`,
                "link one database per variable and pass the other's url through secrets under another name");
        }
        add(key, `link[${i}]`, `linked database "${db.databaseName}"`);
    }));
    return [...from.keys()];
}

function checkVolumes(err: ErrorFactory, app: string, volumes: Readonly<Record<string, string>>): [string, string][] {
    const paths = new Map<string, string>();
    return Object.entries(volumes).map(([key, mount]) => {
        checkResourceName(err, `volumes.${key}`, `${app}-${key}`);
        if (typeof mount !== "string" || !path.posix.isAbsolute(mount)) {
            throw err(`volumes.${key}`, `path "${mount}" is not absolute`, "mount at a path in the container starting with /");
        }
        const other = paths.get(path.posix.normalize(mount));
        if (other !== undefined) throw err(`volumes.${key}`, `mounts at "${mount}" like volumes.${other}`, "mount each volume at its own path");
        paths.set(path.posix.normalize(mount), key);
        return [key, mount];
    });
}

function healthcheck(err: ErrorFactory, h: AppHealthcheck, port: number): NonNullable<Spec["healthcheck"]> {
    const interval = checkWhole(err, "healthcheck.interval", h.interval ?? 5, 1, 3600);
    const timeout = checkWhole(err, "healthcheck.timeout", h.timeout ?? 5, 1, 3600);
    const retries = checkWhole(err, "healthcheck.retries", h.retries ?? 3, 1, 100);
    const startPeriod = checkWhole(err, "healthcheck.startPeriod", h.startPeriod ?? 60, 0, 3600);
    const command = h.command ?? tcpCheck(port);
    if (command.length === 0 || (typeof command !== "string" && command.some(c => typeof c !== "string"))) {
        throw err("healthcheck.command", "is empty", "give a shell command or an argument list, or leave it out for the TCP check");
    }
    return {
        input: {
            tests: typeof command === "string" ? ["CMD-SHELL", command] : ["CMD", ...command],
            interval: `${interval}s`, timeout: `${timeout}s`, retries, startPeriod: `${startPeriod}s`,
        },
        // Long enough for the boot period and a full run of failing retries, so a container that
        // never gets healthy fails the deploy instead of timing out first.
        waitSeconds: startPeriod + (retries + 1) * (interval + timeout) + 10,
    };
}

function checkLogs(err: ErrorFactory, logs: AppLogs): Required<AppLogs> {
    const maxSize = logs.maxSize ?? "10m";
    if (!/^[1-9][0-9]*[kmg]$/.test(maxSize)) throw err("logs.maxSize", `"${maxSize}" is not a size`, 'use a number with k, m or g, e.g. "10m"');
    return { maxSize, maxFiles: checkWhole(err, "logs.maxFiles", logs.maxFiles ?? 3, 1, 100) };
}

function checkWhole(err: ErrorFactory, field: string, value: number, min: number, max: number): number {
    if (!Number.isInteger(value) || value < min || value > max) {
        throw err(field, `${value} is out of range`, `use a whole number from ${min} to ${max}`);
    }
    return value;
}

/** `KEY=value` for every variable: env, secrets, linked databases, then `extra`; secret when any part is. */
function envList(spec: Spec, extra: Record<string, string>): pulumi.Output<string[]> {
    const own = Object.entries({ ...spec.env, ...spec.secrets }).map(([k, v]) => pulumi.interpolate`${k}=${v}`);
    const linked = spec.links.map(db => db.env.apply(e => Object.entries(e).map(([k, v]) => `${k}=${v}`)));
    const list = pulumi.all([pulumi.all(own), pulumi.all(linked)])
        .apply(([o, l]) => [...o, ...l.flat(), ...Object.entries(extra).map(([k, v]) => `${k}=${v}`)]);
    return spec.secret ? pulumi.secret(list) : list;
}

/** The release command's environment: what to run where, and the app's variables under a prefix. */
function releaseEnvironment(spec: Spec, digest: pulumi.Output<string>, networks: pulumi.Output<string[]>,
    release: string): pulumi.Output<Record<string, string>> {
    const own = pulumi.all({ ...spec.env, ...spec.secrets });
    const linked = pulumi.all(spec.links.map(db => db.env));
    const environment = pulumi.all([own, linked, digest, networks]).apply(([o, l, image, nets]) => {
        const vars: Record<string, string> = { [RELEASE_IMAGE]: image, [RELEASE_NETWORKS]: nets.join(" "), [RELEASE_COMMAND]: release };
        for (const [k, v] of [...Object.entries(o), ...l.flatMap(e => Object.entries(e))]) vars[RELEASE_ENV_PREFIX + k] = v;
        return vars;
    });
    return spec.secret ? pulumi.secret(environment) : environment;
}

function uniqueNames(names: pulumi.Output<string>[]): pulumi.Output<string[]> {
    return pulumi.all(names).apply(ns => [...new Set(ns)]);
}

/**
 * Network attachments, each network once: `aliased` ones carry `alias` (so the edge and other apps
 * reach the web process by name), `plain` ones (databases' networks) do not.
 */
function joinNetworks(aliased: pulumi.Output<string>[], plain: pulumi.Output<string>[], alias: string) {
    return pulumi.all([pulumi.all(aliased), pulumi.all(plain)]).apply(([a, p]) => {
        const byName = new Map<string, docker.types.input.ContainerNetworksAdvanced>();
        for (const n of a) if (!byName.has(n)) byName.set(n, { name: n, aliases: [alias] });
        for (const n of p) if (!byName.has(n)) byName.set(n, { name: n });
        return [...byName.values()];
    });
}

/**
 * docker.Image cannot set labels, so the build uses a copy of the app's Dockerfile with one LABEL
 * appended (the last stage is the image) — the label the prune step selects by. The copy lives in
 * the OS temp directory under a name fixed by host, app and build path, and is rewritten only
 * when its content changes.
 */
function labelledDockerfile(hostName: string, app: string, buildDir: string): string {
    const original = fs.readFileSync(path.join(buildDir, "Dockerfile"), "utf8");
    const content = `${original.replace(/\s*$/, "")}\n\n# Added by dropyard so each deploy can prune this app's old images.\nLABEL ${IMAGE_LABEL}="${app}"\n`;
    const hash = createHash("sha256").update(path.resolve(buildDir)).digest("hex").slice(0, 12);
    const file = path.join(os.tmpdir(), "dropyard", `${hostName}-${app}-${hash}.Dockerfile`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== content) fs.writeFileSync(file, content);
    return file;
}
