// App's arguments checked, with every default applied: `normalizeAppArgs` turns AppArgs into the
// AppSpec the App constructor wires. Internal (not exported from index.ts). It reads the build
// directory (Dockerfile, Procfile) but creates nothing, so a bad argument throws before any resource.
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type * as docker from "@pulumi/docker";
import type { AppArgs, AppHealthcheck, AppLogs } from "./args";
import { cronProblem } from "../database/backup";
import { BridgeNet } from "../bridge-net";
import { Database, isDatabase } from "../database/database";
import { configErrors, ErrorFactory } from "../errors";
import { Host } from "../host";
import { tcpCheck } from "../render/healthcheck";
import { parseProcfile, PROCESS_TYPE, ProcfileError } from "../render/procfile";
import { checkEnvKey, checkPort, checkResourceName } from "../validate";
import { checkArgs } from "../check";
import { APP_ARGS } from "../schemas";

/** One process type: `command` undefined runs the image's own command. */
export interface Proc {
    readonly type: string;
    readonly command?: string;
}

/** Everything the App constructor needs, validated, with defaults applied. */
export interface AppSpec {
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
    /** Whether web containers join the host's edge network. */
    readonly isPublic: boolean;
    /** Volume key and mount path, in the order given. */
    readonly volumes: ReadonlyArray<readonly [string, string]>;
    readonly healthcheck?: { readonly input: docker.types.input.ContainerHealthcheck; readonly waitSeconds: number };
    readonly logs: Required<AppLogs>;
    /** Seconds a stopping container gets after SIGTERM. */
    readonly grace: number;
    /** Releases whose images are kept (build apps). */
    readonly keepReleases: number;
    /** The release the stack pins (config `dropyard:releases`): its image runs, nothing is built. */
    readonly pinned?: number;
    /** Scheduled jobs, in the order given. */
    readonly schedules: readonly { readonly name: string; readonly cron: string; readonly command: string }[];
}

/** The stack config key (namespace `dropyard`) that pins Apps to releases: `{ "<app>": <release number> }`. */
export const PIN_CONFIG_KEY = "releases";

/** Checks every argument (throwing a ConfigError on the first bad one) and applies the defaults. */
export function normalizeAppArgs(name: string, args: AppArgs, parent?: pulumi.Resource): AppSpec {
    const err = configErrors("App", name, parent);
    checkArgs(err, APP_ARGS, name, args);
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
            throw err(
                "singletons",
                `names "${s}", which is not a worker process type`,
                `name worker types only (have: ${workers.map(p => p.type).join(", ") || "none"})`,
            );
        }
    }
    const port = args.port ?? 5000;
    checkPort(err, "port", port);
    const replicas = args.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 1) {
        throw err(
            "replicas",
            `${replicas} is not a whole number of at least 1`,
            "run at least one web container, e.g. replicas: 2",
        );
    }
    if (args.replicas !== undefined && !web)
        throw err("replicas", "is set but the app has no web process", "drop replicas");

    const env = args.env ?? {};
    const secrets = args.secrets ?? {};
    const links = checkLinks(err, args);
    const envKeys = checkEnvKeys(err, env, secrets, links, web !== undefined, release !== undefined);
    const networks = (args.networks ?? []).map((n, i) => {
        if (!(n instanceof BridgeNet)) throw err(`networks[${i}]`, "is not a BridgeNet", "pass BridgeNet components");
        if (n.host !== args.host) {
            throw err(
                `networks[${i}]`,
                `is on host "${n.host.hostName}", not "${args.host.hostName}"`,
                "join networks created on this App's host",
            );
        }
        return n;
    });
    if (args.public === false && networks.length === 0) {
        throw err(
            "public",
            "is false but the app joins no network",
            "list the networks its callers share in networks, e.g. networks: [frontnet]",
        );
    }
    if (!web && args.healthcheck)
        throw err(
            "healthcheck",
            "is set but the app has no web process",
            "drop healthcheck; it applies to web containers",
        );
    return {
        source,
        procs,
        web,
        workers,
        release,
        singletons,
        port,
        replicas,
        env,
        secrets,
        links,
        envKeys,
        secret: Object.keys(secrets).length > 0 || links.length > 0,
        networks,
        isPublic: args.public ?? true,
        volumes: checkVolumes(err, name, args.volumes ?? {}),
        healthcheck: web && args.healthcheck !== false ? healthcheck(err, args.healthcheck ?? {}, port) : undefined,
        logs: checkLogs(err, args.logs ?? {}),
        grace: checkWhole(err, "stopGraceSeconds", args.stopGraceSeconds ?? 30, 0, 3600),
        keepReleases: checkKeepReleases(err, args, source),
        pinned: pinnedRelease(err, name, source),
        schedules: checkSchedules(err, args, procs),
    };
}

function checkSchedules(err: ErrorFactory, args: AppArgs, procs: readonly Proc[]): AppSpec["schedules"] {
    return Object.entries(args.schedules ?? {}).map(([job, s]) => {
        const field = `schedules.${job}`;
        if (!PROCESS_TYPE.test(job))
            throw err(field, "is not a valid job name", "use letters, digits, _ and - only, e.g. clear-sessions");
        if (job === "web" || job === "release" || /^web-\d+$/.test(job) || procs.some(p => p.type === job)) {
            throw err(
                field,
                `has the name of a process type ("${job}"), which dropyard logs -p would not tell apart`,
                "give the job a name of its own",
            );
        }
        if (job.length > 40) throw err(field, `name is ${job.length} characters`, "use at most 40");
        const problem = cronProblem(s.cron);
        if (problem !== undefined) {
            throw err(
                `${field}.cron`,
                `"${s.cron}" does not parse: ${problem}`,
                'use five cron fields, e.g. "0 3 * * *" (daily at 03:00), or @daily',
            );
        }
        if (s.command.trim() === "")
            throw err(`${field}.command`, "is empty", "give the command to run, e.g. python manage.py clearsessions");
        return { name: job, cron: s.cron.trim(), command: s.command.trim() };
    });
}

function checkKeepReleases(err: ErrorFactory, args: AppArgs, source: AppSpec["source"]): number {
    if (args.keepReleases !== undefined && "image" in source) {
        throw err(
            "keepReleases",
            "is set but the app pulls an image; only built apps have releases",
            "drop keepReleases",
        );
    }
    return checkWhole(err, "keepReleases", args.keepReleases ?? 5, 1, 100);
}

/** The release the stack's config pins this App to (docs/architecture.md#releases-and-rollback). */
function pinnedRelease(err: ErrorFactory, name: string, source: AppSpec["source"]): number | undefined {
    const key = `dropyard:${PIN_CONFIG_KEY}`;
    let pins: unknown;
    try {
        pins = new pulumi.Config("dropyard").getObject<unknown>(PIN_CONFIG_KEY);
    } catch {
        throw err(
            `config ${key}`,
            "is not JSON",
            `set it with \`pulumi config set --path '${key}["${name}"]' <release>\``,
        );
    }
    if (pins === undefined) return undefined;
    if (pins === null || typeof pins !== "object" || Array.isArray(pins)) {
        throw err(
            `config ${key}`,
            "is not an object of App names and release numbers",
            `set it with \`pulumi config set --path '${key}["${name}"]' <release>\``,
        );
    }
    const value = (pins as Record<string, unknown>)[name];
    if (value === undefined) return undefined;
    const n = typeof value === "string" && /^[0-9]+$/.test(value) ? Number(value) : value;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1) {
        throw err(
            `config ${key}.${name}`,
            `${JSON.stringify(value)} is not a release number`,
            `give a release \`dropyard releases ${name}\` lists, or remove the pin with \`dropyard rollback ${name} --unpin\``,
        );
    }
    if ("image" in source) {
        throw err(
            `config ${key}.${name}`,
            "pins a release, but the app pulls an image and has none",
            "roll back by changing its image argument; remove the pin",
        );
    }
    return n;
}

function checkSource(err: ErrorFactory, args: AppArgs): AppSpec["source"] {
    if ((args.build === undefined) === (args.image === undefined)) {
        throw err(
            "build",
            args.build === undefined ? "and image are both missing" : "and image are both given",
            "give exactly one: build (a directory with a Dockerfile) or image (an image to pull)",
        );
    }
    if (args.image !== undefined) {
        if (!/^[^\s]+$/.test(args.image))
            throw err("image", `"${args.image}" is not an image name`, 'use e.g. "wordpress:6.8-php8.4-apache"');
        return { image: args.image };
    }
    const dir = args.build!;
    if (!fs.existsSync(dir)) {
        throw err(
            "build",
            `directory "${dir}" does not exist`,
            "point build at the directory holding the app's Dockerfile",
        );
    }
    if (!fs.statSync(dir).isDirectory()) {
        throw err(
            "build",
            `"${dir}" is a file, not a directory`,
            "point build at the directory holding the Dockerfile, not at a file in it",
        );
    }
    if (!fs.existsSync(path.join(dir, "Dockerfile")) || !fs.statSync(path.join(dir, "Dockerfile")).isFile()) {
        throw err(
            "build",
            `directory "${dir}" has no Dockerfile`,
            "add a Dockerfile there or use image to run an existing image",
        );
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
        throw err(
            field,
            "has no web process",
            "add web: <command> for the process serving HTTP on $PORT, or set web: false for an app without HTTP",
        );
    }
    if (!takesTraffic && hasWeb)
        throw err("web", `is false but ${field} has a web process`, "remove the web process or drop web: false");
    const replica = procs.find(p => /^web-\d+$/.test(p.type));
    if (replica)
        throw err(
            `${field}`,
            `has a process type "${replica.type}", the name of a web replica`,
            "rename that process type",
        );
    if (procs.length === 0)
        throw err(field, "has no process types", "add the processes to run, e.g. worker: <command>");
    if (!procs.some(p => p.type !== "release"))
        throw err(field, "has only a release process", "add the processes to run");
    return procs;
}

function checkLinks(err: ErrorFactory, args: AppArgs): Database[] {
    return (args.link ?? []).map((db, i) => {
        if (!isDatabase(db)) throw err(`link[${i}]`, "is not a database", "link Postgres or MariaDB components");
        if (db.host !== args.host) {
            throw err(
                `link[${i}]`,
                `is database "${db.databaseName}" on host "${db.host.hostName}"`,
                `link databases on the App's host "${args.host.hostName}"`,
            );
        }
        return db;
    });
}

/** Checks names and collisions across env, secrets and links; returns every name in order. */
function checkEnvKeys(
    err: ErrorFactory,
    env: AppSpec["env"],
    secrets: AppSpec["secrets"],
    links: readonly Database[],
    web: boolean,
    release: boolean,
): string[] {
    const from = new Map<string, string>();
    const add = (key: string, field: string, source: string) => {
        checkEnvKey(err, field, key);
        if (web && key === "PORT")
            throw err(`${field}.PORT`, "is set by the App from port", "set the port argument instead");
        if (release && key.startsWith("DOCKER_")) {
            throw err(
                `${field}.${key}`,
                "would redirect the docker client that runs the release step",
                "rename the variable",
            );
        }
        from.set(key, source);
    };
    for (const key of Object.keys(env)) add(key, "env", "env");
    for (const key of Object.keys(secrets)) {
        if (from.has(key)) throw err(`secrets.${key}`, "is also set in env", "keep it in secrets only");
        add(key, "secrets", "secrets");
    }
    links.forEach((db, i) =>
        db.envKeys.forEach(key => {
            const earlier = from.get(key);
            if (earlier === "env" || earlier === "secrets") {
                throw err(
                    `${earlier}.${key}`,
                    `is also set by linked database "${db.databaseName}"`,
                    `remove it from ${earlier}; the link sets it`,
                );
            }
            if (earlier !== undefined) {
                throw err(
                    `link[${i}]`,
                    `sets ${key}, which ${earlier} sets too`,
                    "link one database per variable and pass the other's url through secrets under another name",
                );
            }
            add(key, `link[${i}]`, `linked database "${db.databaseName}"`);
        }),
    );
    return [...from.keys()];
}

function checkVolumes(err: ErrorFactory, app: string, volumes: Readonly<Record<string, string>>): [string, string][] {
    const paths = new Map<string, string>();
    return Object.entries(volumes).map(([key, mount]) => {
        checkResourceName(err, `volumes.${key}`, `${app}-${key}`);
        const field = `volumes.${key}`;
        if (!path.posix.isAbsolute(mount)) {
            throw err(field, `path "${mount}" is not absolute`, "mount at a path in the container starting with /");
        }
        // Docker compares mount points after cleaning them: /data/ and /data//x/.. are /data.
        const clean = path.posix.normalize(mount).replace(/(.)\/+$/, "$1");
        if (clean === "/")
            throw err(
                field,
                `path "${mount}" is the container's root, where Docker cannot mount a volume`,
                "mount at a directory such as /data",
            );
        if (/[:,\s]/.test(clean)) {
            throw err(
                field,
                `path "${mount}" contains a colon, comma or white space, which Docker's mount syntax cannot carry`,
                "use a path without them",
            );
        }
        const other = paths.get(clean);
        if (other !== undefined)
            throw err(
                field,
                `mounts at "${mount}", the same directory as volumes.${other}`,
                "mount each volume at its own path",
            );
        paths.set(clean, key);
        return [key, clean];
    });
}

function healthcheck(err: ErrorFactory, h: AppHealthcheck, port: number): NonNullable<AppSpec["healthcheck"]> {
    const interval = checkWhole(err, "healthcheck.interval", h.interval ?? 5, 1, 3600);
    const timeout = checkWhole(err, "healthcheck.timeout", h.timeout ?? 5, 1, 3600);
    const retries = checkWhole(err, "healthcheck.retries", h.retries ?? 3, 1, 100);
    const startPeriod = checkWhole(err, "healthcheck.startPeriod", h.startPeriod ?? 60, 0, 3600);
    const command = h.command ?? tcpCheck(port);
    if (typeof command === "string" ? command.trim() === "" : command.length === 0) {
        throw err(
            "healthcheck.command",
            "is empty",
            "give a shell command or an argument list, or leave it out for the TCP check",
        );
    }
    return {
        input: {
            tests: typeof command === "string" ? ["CMD-SHELL", command] : ["CMD", ...command],
            interval: `${interval}s`,
            timeout: `${timeout}s`,
            retries,
            startPeriod: `${startPeriod}s`,
            // Docker 25 and later check every second until the first pass, so their status (docker ps,
            // dropyard ps) turns healthy about when the deploy step's own probe passed, not an interval
            // later. Older engines (Debian 12's 20.10) ignore it.
            startInterval: "1s",
        },
        // Long enough for the boot period and a full run of failing retries, so a container that
        // never gets healthy fails the deploy instead of timing out first.
        waitSeconds: startPeriod + (retries + 1) * (interval + timeout) + 10,
    };
}

function checkLogs(err: ErrorFactory, logs: AppLogs): Required<AppLogs> {
    const maxSize = logs.maxSize ?? "10m";
    if (!/^[1-9][0-9]*[kmg]$/.test(maxSize))
        throw err("logs.maxSize", `"${maxSize}" is not a size`, 'use a number with k, m or g, e.g. "10m"');
    return { maxSize, maxFiles: checkWhole(err, "logs.maxFiles", logs.maxFiles ?? 3, 1, 100) };
}

function checkWhole(err: ErrorFactory, field: string, value: number, min: number, max: number): number {
    if (!Number.isInteger(value))
        throw err(field, `${value} is not a whole number`, `use a whole number from ${min} to ${max}`);
    if (value < min || value > max)
        throw err(field, `${value} is out of range (${min} to ${max})`, `use a whole number from ${min} to ${max}`);
    return value;
}
