import { createHash } from "node:crypto";
import { isIP } from "node:net";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { configErrors, ErrorFactory } from "./errors";
import { dependencies, HostCommandArgs } from "./host-command";
import { checkArgs } from "./check";
import { isHost, scopeOf } from "./claims";
import { EDGE_ARGS } from "./schemas";
import { labels, stackOwner } from "./labels";
import { EdgeFile, EdgeRef, renderEdgeScript } from "./render/edge-files";
import { EDGE_MAIN_CONFIG, EDGE_PATHS, renderEdgeDefault, renderEdgeMain } from "./render/nginx";
import { checkImageReference, checkPort } from "./validate";

/** Settings for a host's edge nginx, given as `new Host(name, { ..., edge: {...} })`. */
export interface EdgeOptions {
    /**
     * The nginx image, with the official image's `nginx` user, `/etc/nginx/mime.types` and `/var/log/nginx`,
     * nginx 1.27.3 or later (Apps' upstream groups use `resolve`). dropyard mounts its own
     * `/etc/nginx/nginx.conf` (the official one with 8,192 connections per worker) and the edge's files under
     * `/etc/nginx/conf.d`.
     * @default "nginx:1.30"
     */
    readonly image?: string;
    /**
     * Host port published for HTTP. Let's Encrypt's HTTP-01 check needs port 80 as the world sees it.
     * @default 80
     */
    readonly httpPort?: number;
    /** Host port published for HTTPS. @default 443 */
    readonly httpsPort?: number;
    /**
     * Host addresses the ports are published on.
     * @default ["127.0.0.1"] on a `local` host (a laptop should not serve its network);
     * ["0.0.0.0", "::"] (every IPv4 and IPv6 address) on a droplet or server
     */
    readonly bindAddresses?: string[];
}

/**
 * What the edge needs from its host (a Host has all of it): where its files live, the engine its
 * container runs on, the network it shares with web containers, and a way to run scripts there.
 */
export interface EdgeHost {
    /** The host's name: the edge container is `<hostName>-nginx`. */
    readonly hostName: string;
    /** Which kind of machine the host is. */
    readonly target: "droplet" | "server" | "local";
    /** Where the edge's directories live on the host. */
    readonly dataDir: string;
    /** The host's Docker provider. */
    readonly provider: docker.Provider;
    /** What must finish before anything runs on the host. */
    readonly ready: pulumi.Resource[];
    /** The network the edge shares with every public web container. */
    readonly edgeNetwork: EdgeNetworkRef;
    /** Runs scripts on the host (see `Host.command`). */
    command(name: string, args: HostCommandArgs, opts?: pulumi.CustomResourceOptions): pulumi.CustomResource;
}

/** The edge network as web containers join it: by name (a `docker.Network`, or one another stack owns). */
export interface EdgeNetworkRef {
    /** The network's Docker name. */
    readonly name: pulumi.Output<string>;
}

/** The edge of a host another stack owns, as its export describes it (see `Host.attach`). */
export interface AttachedEdge {
    /** The owner's edge container, which the attached stack only tests and reloads. */
    readonly container: string;
    /** Host port of HTTP. */
    readonly httpPort: number;
    /** Host port of HTTPS. */
    readonly httpsPort: number;
}

export interface EdgeArgs<H extends EdgeHost = EdgeHost> extends EdgeOptions {
    /** The host the edge serves. */
    readonly host: H;
}

/** A file for `Edge.files`. */
export interface EdgeFileArgs {
    /** Absolute path on the host, in one of the edge's directories. */
    readonly path: string;
    /** The file's text. */
    readonly content: pulumi.Input<string>;
    /**
     * Send the content on the command's standard input (as a secret), never in the script: for
     * private keys. At most one file of a command. @default false
     */
    readonly secret?: boolean;
    /** @default "0644" */
    readonly mode?: "0600" | "0644";
}

/** Files `Edge.files` puts into the edge's directories. */
export interface EdgeFilesArgs {
    /** The files to put into the edge's directories. */
    readonly files: readonly EdgeFileArgs[];
    /** Directories to create first. @default [] */
    readonly dirs?: readonly string[];
    /** Whether `dirs` hold these files alone, so deleting the command removes them once empty. @default false */
    readonly ownDirs?: boolean;
}

/** The edge container's label holding its nginx.conf's hash. */
const EDGE_CONFIG_LABEL = "dev.dropyard.edge-config";

/** The edge's image unless the Host names another: the stable nginx of the day. */
export const EDGE_IMAGE = "nginx:1.30";

/** An official nginx image tagged with its version (`nginx:1.26`, `nginx:1.26.3-alpine`, `library/nginx:1.24`). */
const NGINX_TAG = /^(?:docker\.io\/)?(?:library\/)?nginx:(\d+)\.(\d+)(?:\.(\d+))?(?:-[\w.-]+)?$/;

/**
 * nginx before 1.27.3 has no `resolve` for upstream servers, which every App's upstream group uses. A tag without
 * the patch number (`nginx:1.27`) follows that line's latest release.
 */
function checkNginxVersion(err: ErrorFactory, image: string): void {
    const m = NGINX_TAG.exec(image);
    if (m === null) return; // another tag (stable, latest, a digest, an image of one's own): nginx -t will tell
    const [major, minor] = [Number(m[1]), Number(m[2])];
    const older = major !== 1 ? major < 1 : minor !== 27 ? minor < 27 : m[3] !== undefined && Number(m[3]) < 3;
    if (older)
        throw err(
            "edge.image",
            `"${image}" is nginx ${m[1]}.${m[2]}${m[3] ? `.${m[3]}` : ""}, older than 1.27.3: Apps' upstream groups need its \`resolve\``,
            `use ${EDGE_IMAGE} or later, or leave edge.image out`,
        );
}

/** Checks edge options; Host calls it before creating anything, so errors name the Host's field. */
export function checkEdgeOptions(err: ErrorFactory, o: EdgeOptions | undefined): void {
    if (o === undefined) return;
    if (o.image !== undefined) {
        checkImageReference(err, "edge.image", o.image, EDGE_IMAGE);
        checkNginxVersion(err, o.image);
    }
    if (o.httpPort !== undefined) checkPort(err, "edge.httpPort", o.httpPort);
    if (o.httpsPort !== undefined) checkPort(err, "edge.httpsPort", o.httpsPort);
    if ((o.httpPort ?? 80) === (o.httpsPort ?? 443)) {
        throw err(
            "edge.httpsPort",
            `is the same as edge.httpPort (${o.httpPort ?? 80})`,
            "publish HTTP and HTTPS on different ports",
        );
    }
    for (const [i, a] of (o.bindAddresses ?? []).entries()) {
        if (isIP(a) === 0)
            throw err(
                `edge.bindAddresses[${i}]`,
                `"${a}" is not an IP address`,
                "use an address such as 127.0.0.1, 0.0.0.0 or ::",
            );
    }
    if (o.bindAddresses !== undefined && o.bindAddresses.length === 0) {
        throw err("edge.bindAddresses", "is empty", "give at least one address, or leave it out for the default");
    }
}

/**
 * The host's nginx: one container publishing 80 and 443 on the host's edge network, reading its
 * config, certificates and ACME webroot from directories under the host's data dir. Its default
 * server answers ACME challenges for any name and refuses every name no vhost claims. Host creates
 * it; NginxVhost, App's deploy step and LetsEncrypt change its files, always by the edge's file
 * protocol (docs/architecture.md#the-edges-file-protocol).
 */
export class Edge<H extends EdgeHost = EdgeHost> extends pulumi.ComponentResource {
    /** The host the edge serves. */
    readonly host: H;
    /** The container's name, for `docker exec`. Fixed, because published ports are too (see below). */
    readonly containerName: string;
    /** Host directories, mounted in the container at the paths in EDGE_PATHS. */
    readonly confDir: string;
    /** Certificates of vhosts that bring their own or are self-signed. */
    readonly certsDir: string;
    /** certbot's configuration and issued certificates (Let's Encrypt lineages). */
    readonly letsencryptDir: string;
    /** The ACME HTTP-01 webroot the edge answers `/.well-known/acme-challenge/` from. */
    readonly webrootDir: string;
    /** Per-certificate certbot state (CA bundle, renewal script). Not mounted in the edge. */
    readonly certbotDir: string;
    /** Lock file host commands hold while they change and test the edge's files. */
    readonly lockFile: string;
    /** The container and the lock, as the scripts that change the edge's files take them. */
    readonly ref: EdgeRef;
    /** Ports the world uses, for redirects and X-Forwarded-Port. */
    readonly httpPort: number;
    /** The port HTTPS is published on. */
    readonly httpsPort: number;
    /** The edge's own file in conf.d, as written. */
    readonly defaultConfig: string;
    /** The edge's nginx.conf, as written (renderEdgeMain). */
    readonly mainConfig: string;
    /** The nginx image, pulled on the host; absent on an attached host (its own stack pulls it). */
    readonly image?: docker.RemoteImage;
    /** Creates the directories and writes the default config; absent on an attached host. */
    readonly setup?: pulumi.CustomResource;
    /** The edge nginx container; absent on an attached host, whose stack owns it. */
    readonly container?: docker.Container;

    /**
     * `attached`: the edge of a host another stack owns (Host.attach makes it). It creates nothing: its
     * `files` change the files that stack's nginx reads and reload it, never create or restart it.
     */
    constructor(name: string, args: EdgeArgs<H>, opts?: pulumi.ComponentResourceOptions, attached?: AttachedEdge) {
        const err = configErrors("Edge", name, opts?.parent);
        checkArgs(err, EDGE_ARGS, name, args);
        const host = args.host;
        if (!isHost(host)) throw err("host", "is not a Host", "pass the Host the edge serves");
        // Host makes its one edge (and claims its names); a second one would take the same container and files.
        const existing = (host as { edge?: Edge }).edge;
        if (existing !== undefined)
            throw err("host", `already has an edge (Edge "${existing.containerName}")`, "use host.edge");
        // Host validates these before creating anything; repeated here for an Edge made directly.
        checkEdgeOptions(configErrors("Host", host.hostName, opts?.parent), args);
        const names = scopeOf(host).names.edge;
        super("dropyard:index:Edge", name, {}, opts);

        this.host = host;
        this.containerName = attached?.container ?? names.container.name;
        const dir = names.dirs;
        this.confDir = dir.confDir;
        this.certsDir = dir.certsDir;
        this.letsencryptDir = dir.letsencryptDir;
        this.webrootDir = dir.webrootDir;
        this.certbotDir = dir.certbotDir;
        this.lockFile = dir.lockFile;
        this.ref = { container: this.containerName, lockFile: this.lockFile, owner: stackOwner() };
        this.httpPort = attached?.httpPort ?? args.httpPort ?? 80;
        this.httpsPort = attached?.httpsPort ?? args.httpsPort ?? 443;
        this.defaultConfig = renderEdgeDefault();
        this.mainConfig = renderEdgeMain();
        if (attached !== undefined) {
            this.registerOutputs({ containerName: this.containerName });
            return;
        }

        this.image = new docker.RemoteImage(
            `${name}-image`,
            { name: args.image ?? EDGE_IMAGE },
            { parent: this, provider: host.provider, dependsOn: host.ready },
        );

        this.setup = host.command(
            `${name}-setup`,
            {
                create: renderEdgeScript({
                    edge: this.ref,
                    dirs: [this.confDir, this.certsDir, this.letsencryptDir, this.webrootDir, this.certbotDir],
                    put: [
                        { path: dir.mainConfig, content: this.mainConfig },
                        { path: names.defaultConfig.name, content: this.defaultConfig },
                    ],
                    // First deploy: no container yet; it reads the file when it starts.
                    whenStopped: "skip",
                }),
            },
            { parent: this },
        );

        this.container = new docker.Container(
            `${name}-nginx`,
            {
                name: this.containerName,
                image: this.image.imageId,
                restart: "unless-stopped",
                // The addresses and ports the Host claimed (its edge options with their defaults).
                ports: names.ports.flatMap(({ ip }) => [
                    { internal: 80, external: this.httpPort, ip },
                    { internal: 443, external: this.httpsPort, ip },
                ]),
                networksAdvanced: [{ name: host.edgeNetwork.name }],
                volumes: [
                    // A file mount keeps the file it found at the start (a rewrite is a new file): the label
                    // below makes a changed nginx.conf start a new container.
                    { hostPath: dir.mainConfig, containerPath: EDGE_MAIN_CONFIG, readOnly: true },
                    { hostPath: this.confDir, containerPath: EDGE_PATHS.confDir, readOnly: true },
                    { hostPath: this.certsDir, containerPath: EDGE_PATHS.certs, readOnly: true },
                    { hostPath: this.letsencryptDir, containerPath: EDGE_PATHS.letsencrypt, readOnly: true },
                    { hostPath: this.webrootDir, containerPath: EDGE_PATHS.webroot, readOnly: true },
                ],
                logDriver: "json-file",
                logOpts: { "max-size": "10m", "max-file": "3" },
                labels: [
                    ...labels({ host: host.hostName, role: "edge" }),
                    { label: EDGE_CONFIG_LABEL, value: createHash("sha256").update(this.mainConfig).digest("hex") },
                ],
            },
            {
                parent: this,
                provider: host.provider,
                dependsOn: [this.setup, ...host.ready],
                // The name and the published ports are fixed: a new container cannot start beside the
                // old one, so a replacement removes the old one first (a few seconds without the edge).
                deleteBeforeReplace: true,
            },
        );

        this.registerOutputs({ containerName: this.containerName });
    }

    /**
     * A host command that puts `files` into the edge's directories by the edge's file protocol
     * (docs/architecture.md#the-edges-file-protocol): written aside, `nginx -t`, the old files back
     * on failure, reloaded. Deleting the command takes them out the same way. It runs after the edge
     * exists; a stopped edge fails it. `opts.parent` should be the component the files belong to.
     */
    files(name: string, args: EdgeFilesArgs, opts: pulumi.CustomResourceOptions = {}): pulumi.CustomResource {
        if (args.files.filter(f => f.secret).length > 1)
            throw new Error(`Edge.files "${name}": only one file can be secret`);
        const secret = args.files.find(f => f.secret);
        const paths = args.files.map(f => f.path);
        const texts = pulumi.all(args.files.map(f => (f.secret ? "" : f.content)));
        return this.host.command(
            name,
            {
                create: texts.apply(t =>
                    renderEdgeScript({
                        edge: this.ref,
                        dirs: args.dirs,
                        put: args.files.map((f, i): EdgeFile => ({
                            path: f.path,
                            content: f.secret ? { stdin: true } : t[i],
                            mode: f.mode,
                        })),
                        whenStopped: "fail",
                    }),
                ),
                stdin: secret !== undefined ? pulumi.secret(secret.content) : undefined,
                delete: renderEdgeScript({
                    edge: this.ref,
                    remove: paths,
                    removeDirs: args.ownDirs ? args.dirs : [],
                    whenStopped: "skip",
                }),
            },
            { ...opts, dependsOn: [this, ...dependencies(opts.dependsOn)] },
        );
    }
}
