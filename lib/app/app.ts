import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { Host } from "../host";
import { LABEL, labels } from "../labels";
import {
    DEPLOY_CONTAINERS,
    DEPLOY_UPSTREAM_FILE,
    renderDeployScript,
    renderUpstreamGroup,
    shortId,
    upstreamGroup,
} from "../render/deploy";
import { processCommand } from "../render/procfile";
import { RELEASE_COMMAND, RELEASE_ENV_PREFIX, RELEASE_IMAGE, RELEASE_NETWORKS, releaseScript } from "../render/release";
import { renderEdgeScript } from "../render/edge-files";
import { releaseTag, RELEASES_LIVE_IMAGE, renderReleasesRemoveScript, renderReleasesScript } from "../render/releases";
import {
    renderSchedulesInstallScript,
    renderSchedulesRemoveScript,
    SCHEDULE_CONTAINERS,
    SCHEDULE_JOBS,
} from "../render/schedules";
import type { AppArgs } from "./args";
import { appNames, claim, scopeOf } from "../claims";
import { configErrors } from "../errors";
import { AppSpec, normalizeAppArgs } from "./spec";

/**
 * An application: an image built from a directory (or pulled), its release step, its web
 * containers behind the edge and its workers, the Heroku way.
 *
 * A changed image digest or environment redeploys: image, release, new web containers beside
 * the old ones, the deploy step (health, the edge moved over, drain), workers, prune, and at the
 * end of the run Pulumi stops the old containers — docs/architecture.md#the-deploy-sequence. An
 * unchanged digest and environment change nothing.
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
    /**
     * The built (`docker.Image`) or pulled (`docker.RemoteImage`) image; for a `build` app pinned to a
     * release (config `dropyard:releases`), the RemoteImage of that release's tag on the host.
     */
    readonly image: docker.Image | docker.RemoteImage;
    /** The release the stack pins this App to, when it does (see `AppArgs.keepReleases`). */
    readonly pinnedRelease?: number;
    /** The release step, when there is a `release` process. */
    readonly release?: pulumi.CustomResource;
    /** Containers by role: `web-1` … `web-N` and one per worker type. */
    readonly containers: Readonly<Record<string, docker.Container>>;
    /**
     * What the edge proxies to: the nginx upstream group the deploy step points at the current web
     * containers (undefined when the app is not public or has no web process).
     */
    readonly edgeHost?: string;
    /** The deploy step: waits for the new web containers' health, then moves the edge over to them. */
    readonly deploy?: pulumi.CustomResource;
    /** The host the app runs on. */
    readonly host: Host;
    /** The Docker and edge names the app claimed on its host; resources take their names from here. */
    private readonly names: ReturnType<typeof appNames>;

    constructor(name: string, args: AppArgs, opts?: pulumi.ComponentResourceOptions) {
        const spec = normalizeAppArgs(name, args, opts?.parent);
        const names = appNames(scopeOf(args.host), name, {
            build: "build" in spec.source,
            volumeKeys: spec.volumes.map(([key]) => key),
            web: spec.web !== undefined,
            isPublic: spec.isPublic,
        });
        claim(configErrors("App", name, opts?.parent), scopeOf(args.host), `App "${name}"`, names);
        super("dropyard:index:App", name, {}, opts);
        this.names = names;
        this.host = args.host;
        this.appName = name;
        this.alias = name;
        this.hasWeb = spec.web !== undefined;
        this.isPublic = spec.isPublic;
        this.webPort = spec.port;
        this.processes = Object.fromEntries(spec.procs.map(p => [p.type, p.command]));
        this.pinnedRelease = spec.pinned;

        const image = this.createImage(name, spec);
        this.image = image.resource;
        this.imageDigest = image.digest;
        const volumes = this.createVolumes(name, spec);
        const networks: Networks = {
            app: spec.networks.map(n => n.networkName),
            databases: spec.links.flatMap(db => db.networkNames),
        };
        // Linked databases as resources, so what runs the app waits for their servers to be healthy.
        const databases = spec.links.filter(db => pulumi.Resource.isInstance(db)) as unknown as pulumi.Resource[];
        // A pinned release (a rollback) ran its release step when it was first deployed: not again, as on Heroku.
        if (spec.release !== undefined && spec.pinned === undefined)
            this.release = this.createRelease(name, spec, spec.release, networks, databases);
        // Web and worker containers wait for the release step: a failing release stops the deploy
        // while the old containers keep serving.
        const after = [...databases, ...(this.release ? [this.release] : [])];
        const web = this.createWebContainers(name, spec, volumes, networks, after);
        if (this.hasWeb) {
            this.deploy = this.createDeploy(name, spec, Object.values(web));
            if (this.isPublic) this.edgeHost = upstreamGroup(name);
        }
        // Workers change over once the new web containers passed their checks: a failing deploy
        // leaves the old workers (a singleton above all) running too.
        const workers = this.createWorkers(name, spec, volumes, networks, [
            ...after,
            ...(this.deploy ? [this.deploy] : []),
        ]);
        this.containers = { ...web, ...workers };
        if ("build" in spec.source) this.createReleases(name, spec);
        if (spec.schedules.length > 0) this.createSchedules(name, spec);

        this.registerOutputs({
            imageDigest: this.imageDigest,
            alias: this.alias,
            hasWeb: this.hasWeb,
            webPort: this.webPort,
        });
    }

    /** Options for the app's docker resources: on the host's engine, after its bootstrap. */
    private onHost(): pulumi.CustomResourceOptions {
        return { parent: this, provider: this.host.provider, dependsOn: this.host.ready };
    }

    /** Builds the directory on the host's engine, or pulls the image; returns it and the digest containers run. */
    private createImage(
        name: string,
        spec: AppSpec,
    ): { resource: docker.Image | docker.RemoteImage; digest: pulumi.Output<string> } {
        const hostName = this.host.hostName;
        if ("build" in spec.source && spec.pinned !== undefined) {
            // A pinned release runs the image its tag holds on the host: no build (the tag is local, so
            // nothing is pulled; keepLocally leaves it to the releases step when the pin goes).
            const image = new docker.RemoteImage(
                `${name}-image`,
                {
                    name: `${this.releaseRepo()}:${releaseTag(spec.pinned)}`,
                    keepLocally: true,
                },
                this.onHost(),
            );
            return { resource: image, digest: image.imageId };
        }
        if ("build" in spec.source) {
            const image = new docker.Image(
                `${name}-image`,
                {
                    imageName: this.names.image!.name,
                    build: {
                        context: spec.source.build,
                        dockerfile: labelledDockerfile(hostName, name, spec.source.build),
                    },
                    skipPush: true,
                },
                this.onHost(),
            );
            return { resource: image, digest: image.repoDigest };
        }
        // Kept locally: other components may run the same image, and removing it would fail.
        const image = new docker.RemoteImage(
            `${name}-image`,
            { name: spec.source.image, keepLocally: true },
            this.onHost(),
        );
        return { resource: image, digest: image.imageId };
    }

    /** One named Docker volume per `volumes` key, mounted in every container. */
    private createVolumes(name: string, spec: AppSpec): docker.types.input.ContainerVolume[] {
        return spec.volumes.map(([key, containerPath]) => ({
            containerPath,
            volumeName: new docker.Volume(
                `${name}-volume-${key}`,
                {
                    name: this.names.volumes[key].name,
                    labels: labels({ app: name }),
                },
                { ...this.onHost(), deleteBeforeReplace: true },
            ).name,
        }));
    }

    /** The release command, once per new image digest, in a throwaway container on every network the app uses. */
    private createRelease(
        name: string,
        spec: AppSpec,
        release: string,
        networks: Networks,
        databases: pulumi.Resource[],
    ): pulumi.CustomResource {
        return this.host.command(
            `${name}-release`,
            {
                create: releaseScript(name, spec.envKeys),
                environment: releaseEnvironment(
                    spec,
                    this.imageDigest,
                    uniqueNames([...networks.app, ...networks.databases]),
                    release,
                ),
                triggers: [this.imageDigest],
            },
            { parent: this, dependsOn: databases },
        );
    }

    /** `web-1` … `web-N`: `PORT` set, the healthcheck, and the app's alias on the edge and app networks. */
    private createWebContainers(
        name: string,
        spec: AppSpec,
        volumes: docker.types.input.ContainerVolume[],
        networks: Networks,
        after: pulumi.Resource[],
    ): Record<string, docker.Container> {
        const web = spec.web;
        if (web === undefined) return {};
        const envs = envList(spec, { PORT: String(spec.port) });
        const aliased = this.isPublic ? [this.host.edgeNetwork.name, ...networks.app] : networks.app;
        const containers: Record<string, docker.Container> = {};
        for (let i = 1; i <= spec.replicas; i++) {
            // No name and no published port: Pulumi creates the replacement before deleting the
            // old container (pulumi-docker#1356). No `wait`: the deploy step waits for health and
            // reports the healthcheck output and logs, which the provider's wait does not.
            containers[`web-${i}`] = new docker.Container(
                `${name}-web-${i}`,
                {
                    ...containerArgs(this.host.hostName, name, spec, this.imageDigest, volumes, "web"),
                    command: web.command === undefined ? undefined : processCommand(web.command),
                    envs,
                    networksAdvanced: joinNetworks(aliased, networks.databases, name),
                    healthcheck: spec.healthcheck?.input,
                    wait: false,
                },
                { ...this.onHost(), dependsOn: [...this.host.ready, ...after] },
            );
        }
        return containers;
    }

    /** One container per worker type, on the app's and its databases' networks without an alias. */
    private createWorkers(
        name: string,
        spec: AppSpec,
        volumes: docker.types.input.ContainerVolume[],
        networks: Networks,
        after: pulumi.Resource[],
    ): Record<string, docker.Container> {
        const envs = envList(spec, {});
        const all = [...networks.app, ...networks.databases];
        const joined = all.length > 0 ? joinNetworks([], all, name) : undefined;
        const containers: Record<string, docker.Container> = {};
        for (const proc of spec.workers) {
            containers[proc.type] = new docker.Container(
                `${name}-${proc.type}`,
                {
                    ...containerArgs(this.host.hostName, name, spec, this.imageDigest, volumes, proc.type),
                    command: proc.command === undefined ? undefined : processCommand(proc.command),
                    envs,
                    networksAdvanced: joined,
                },
                {
                    ...this.onHost(),
                    dependsOn: [...this.host.ready, ...after],
                    deleteBeforeReplace: spec.singletons.has(proc.type),
                },
            );
        }
        return containers;
    }

    /**
     * The deploy step (docs/architecture.md#the-deploy-sequence, step 4). It runs whenever the web containers
     * were replaced
     * (their names are in its environment), after them and before Pulumi deletes the old ones.
     */
    private createDeploy(name: string, spec: AppSpec, web: docker.Container[]): pulumi.CustomResource {
        const edge = this.isPublic ? this.host.edge : undefined;
        const upstreamFile = edge ? this.names.upstreamFile?.name : undefined;
        const names = pulumi.all(web.map(c => c.name));
        const ids = pulumi.all(web.map(c => c.id));
        return this.host.command(
            `${name}-deploy`,
            {
                create: renderDeployScript({
                    // Without a healthcheck there is nothing to wait for but "running".
                    waitSeconds: spec.healthcheck?.waitSeconds ?? 30,
                    edge:
                        edge && upstreamFile
                            ? { ...edge.ref, upstreamFile, drainSeconds: spec.grace, webPort: spec.port }
                            : undefined,
                }),
                environment: pulumi.all([names, ids]).apply(([ns, is]) => ({
                    [DEPLOY_CONTAINERS]: ns.join(" "),
                    ...(edge ? { [DEPLOY_UPSTREAM_FILE]: renderUpstreamGroup(name, is.map(shortId), spec.port) } : {}),
                })),
                delete:
                    edge && upstreamFile
                        ? renderEdgeScript({ edge: edge.ref, remove: [upstreamFile], whenStopped: "skip" })
                        : undefined,
            },
            { parent: this, dependsOn: [...web, ...(edge ? [edge] : [])] },
        );
    }

    /**
     * The scheduled jobs' scripts and cron entries on the host (docs/architecture.md#scheduled-jobs). It
     * runs again whenever the containers were replaced: their names say where a run takes the release from.
     */
    private createSchedules(name: string, spec: AppSpec): void {
        const stateDir = path.posix.join(this.host.dataDir, "schedules", name);
        const jobs = spec.schedules.map(j => ({ name: j.name, cron: j.cron, command: processCommand(j.command) }));
        const containers = Object.values(this.containers);
        this.host.command(
            `${name}-schedules`,
            {
                create: this.host.edgeNetwork.name.apply(edgeNetwork =>
                    renderSchedulesInstallScript({
                        app: name,
                        hostName: this.host.hostName,
                        stateDir,
                        edgeNetwork,
                        jobs,
                    }),
                ),
                environment: pulumi.all(containers.map(c => c.name)).apply(ns => ({
                    [SCHEDULE_CONTAINERS]: ns.join(" "),
                    [SCHEDULE_JOBS]: JSON.stringify(Object.fromEntries(jobs.map(j => [j.name, j.cron]))),
                })),
                delete: renderSchedulesRemoveScript({
                    app: name,
                    hostName: this.host.hostName,
                    stateDir,
                    jobs: jobs.map(j => j.name),
                }),
            },
            { parent: this, dependsOn: containers },
        );
    }

    /** `dropyard/<host>-<app>`: the repository of the built image and of its release tags. */
    private releaseRepo(): string {
        return this.names.image!.name.replace(/:latest$/, "");
    }

    /**
     * The releases step, once the new containers run: the image they run gets a release number (a tag),
     * the newest `keepReleases` are kept and the app's other images pruned; an image a container still
     * uses (the one being replaced) goes on a later deploy. docs/architecture.md#releases-and-rollback.
     */
    private createReleases(name: string, spec: AppSpec): void {
        this.host.command(
            `${name}-releases`,
            {
                create: renderReleasesScript({ app: name, repo: this.releaseRepo(), keep: spec.keepReleases }),
                // A new image changes the environment, which runs `create` again. Not `triggers`: a
                // replacement would run the old step's delete, which removes every release.
                environment: this.imageDigest.apply(image => ({ [RELEASES_LIVE_IMAGE]: image })),
                delete: renderReleasesRemoveScript(this.releaseRepo()),
            },
            { parent: this, dependsOn: Object.values(this.containers) },
        );
    }
}

/** Docker network names the app's containers join: its own `networks`, and its linked databases'. */
interface Networks {
    readonly app: pulumi.Output<string>[];
    readonly databases: pulumi.Output<string>[];
}

/**
 * What every web and worker container has in common. The host label lets the host's stack list every
 * stack's apps on it (`dropyard ps`), also where hosts share one engine.
 */
function containerArgs(
    hostName: string,
    name: string,
    spec: AppSpec,
    image: pulumi.Output<string>,
    volumes: docker.types.input.ContainerVolume[],
    type: string,
): docker.ContainerArgs {
    return {
        image,
        restart: "unless-stopped",
        logDriver: "json-file",
        logOpts: { "max-size": spec.logs.maxSize, "max-file": String(spec.logs.maxFiles) },
        stopTimeout: spec.grace,
        destroyGraceSeconds: spec.grace,
        labels: labels({ app: name, process: type, host: hostName }),
        volumes: volumes.length > 0 ? volumes : undefined,
    };
}

/** `KEY=value` for every variable: env, secrets, linked databases, then `extra`; secret when any part is. */
function envList(spec: AppSpec, extra: Record<string, string>): pulumi.Output<string[]> {
    const own = Object.entries({ ...spec.env, ...spec.secrets }).map(([k, v]) => pulumi.interpolate`${k}=${v}`);
    const linked = spec.links.map(db => db.env.apply(e => Object.entries(e).map(([k, v]) => `${k}=${v}`)));
    const list = pulumi
        .all([pulumi.all(own), pulumi.all(linked)])
        .apply(([o, l]) => [...o, ...l.flat(), ...Object.entries(extra).map(([k, v]) => `${k}=${v}`)]);
    return spec.secret ? pulumi.secret(list) : list;
}

/** The release command's environment: what to run where, and the app's variables under a prefix. */
function releaseEnvironment(
    spec: AppSpec,
    digest: pulumi.Output<string>,
    networks: pulumi.Output<string[]>,
    release: string,
): pulumi.Output<Record<string, string>> {
    const own = pulumi.all({ ...spec.env, ...spec.secrets });
    const linked = pulumi.all(spec.links.map(db => db.env));
    const environment = pulumi.all([own, linked, digest, networks]).apply(([o, l, image, nets]) => {
        const vars: Record<string, string> = {
            [RELEASE_IMAGE]: image,
            [RELEASE_NETWORKS]: nets.join(" "),
            [RELEASE_COMMAND]: release,
        };
        for (const [k, v] of [...Object.entries(o), ...l.flatMap(e => Object.entries(e))])
            vars[RELEASE_ENV_PREFIX + k] = v;
        return vars;
    });
    return spec.secret ? pulumi.secret(environment) : environment;
}

function uniqueNames(names: pulumi.Output<string>[]): pulumi.Output<string[]> {
    return pulumi.all(names).apply(ns => [...new Set(ns)]);
}

/**
 * Network attachments, each network once: `aliased` ones carry `alias` (so other apps reach the web
 * process by name); `plain` ones (databases' networks) carry none.
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
 * The last git commit that changed `dir`, when it is inside a git work tree (else undefined): commits
 * elsewhere in the repository do not change it, so they rebuild nothing.
 */
export function lastCommit(dir: string): string | undefined {
    try {
        const out = execFileSync("git", ["log", "-1", "--format=%H", "--", "."], {
            cwd: dir,
            encoding: "utf8",
            stdio: ["ignore", "pipe", "ignore"],
        });
        return /^[0-9a-f]{40,64}$/.test(out.trim()) ? out.trim() : undefined;
    } catch {
        return undefined; // not a repository, or no git
    }
}

/**
 * docker.Image cannot set labels, so the build uses a copy of the app's Dockerfile with LABELs
 * appended (the last stage is the image): the app (the releases step prunes by it) and the last
 * commit of the build directory (`dropyard releases` shows it). The copy lives in the OS temp
 * directory under a name fixed by host, app and build path, and is rewritten only when its content changes.
 */
function labelledDockerfile(hostName: string, app: string, buildDir: string): string {
    const original = fs.readFileSync(path.join(buildDir, "Dockerfile"), "utf8");
    const commit = lastCommit(buildDir);
    const content =
        `${original.replace(/\s*$/, "")}\n\n# Added by dropyard: the app (each deploy prunes its old images) and its commit.\n` +
        `LABEL ${LABEL.app}="${app}"${commit ? ` ${LABEL.commit}="${commit}"` : ""}\n`;
    const hash = createHash("sha256").update(path.resolve(buildDir)).digest("hex").slice(0, 12);
    const file = path.join(os.tmpdir(), "dropyard", `${hostName}-${app}-${hash}.Dockerfile`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== content) fs.writeFileSync(file, content);
    return file;
}
