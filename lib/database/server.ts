// Validation and the container shared by Postgres and MariaDB (internal; not exported from
// index.ts). DatabaseServer (base.ts) calls these in order: normalizeServerArgs (validate +
// defaults), serverPassword, createServer, connectionUrl.
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import * as random from "@pulumi/random";
import { BridgeNet } from "../bridge-net";
import { ErrorFactory } from "../errors";
import { Host } from "../host";
import { labels } from "../labels";
import { checkResourceName } from "../validate";
import type { DatabaseArgs } from "./args";
import { databaseNames } from "../claims";

/** What an engine file tells the shared code about itself. */
export interface EngineFacts {
    /** The Docker Hub repository of the official image, e.g. `"postgres"`. */
    readonly repository: string;
    readonly versions: readonly string[];
    readonly defaultVersion: string;
    /** Names the image or server uses itself; a user database or user with these names breaks it. */
    readonly reservedDatabases: readonly string[];
    readonly reservedUsers: readonly string[];
}

/** Args after validation, with every default applied. */
export interface NormalizedServer {
    readonly host: Host;
    readonly version: string;
    /** The full image reference to pull. */
    readonly image: string;
    readonly database: string;
    readonly user: string;
    /** The networks to join; `undefined` means the database gets its own internal network. */
    readonly networks?: readonly BridgeNet[];
    /** The Docker names it creates; the constructor claims them once every check has passed. */
    readonly names: ReturnType<typeof databaseNames>;
}

/** An SQL identifier both engines accept unquoted and that needs no escaping in a URL. */
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const IDENTIFIER_FIX = "use 1-63 lower-case letters, digits and underscores, not starting with a digit";

/**
 * The default database name for a component: its name with hyphens turned into underscores
 * (`counter-db` → `counter_db`), prefixed with `db_` when it would start with a digit.
 */
export function defaultDatabaseName(name: string): string {
    const base = name.replace(/-/g, "_");
    return (/^[0-9]/.test(base) ? `db_${base}` : base).slice(0, 63);
}

/** Validates everything both engines share and applies the shared defaults. Creates nothing. */
export function normalizeServerArgs(
    err: ErrorFactory,
    name: string,
    args: DatabaseArgs,
    facts: EngineFacts,
): NormalizedServer {
    // The name is the container's name and its host name on every network it joins.
    checkResourceName(err, "name", name);
    if (!(args.host instanceof Host)) throw err("host", "is not a Host", "pass the Host the database runs on");
    const host = args.host;

    const version = args.version ?? facts.defaultVersion;
    if (!facts.versions.includes(version)) {
        throw err("version", `"${version}" is not supported`, `use one of ${facts.versions.join(", ")}`);
    }
    const image = args.image ?? `${facts.repository}:${version}`;
    if (!/^\S+$/.test(image)) {
        throw err(
            "image",
            `"${image}" is not an image reference`,
            `give a name and tag without spaces, e.g. "mirror.example.com/${facts.repository}:${version}"`,
        );
    }

    const database = args.database ?? defaultDatabaseName(name);
    const user = args.user ?? "app";
    for (const [field, value, reserved] of [
        ["database", database, facts.reservedDatabases],
        ["user", user, facts.reservedUsers],
    ] as const) {
        if (!IDENTIFIER.test(value)) throw err(field, `"${value}" is not a valid identifier`, IDENTIFIER_FIX);
        if (reserved.includes(value)) {
            throw err(field, `"${value}" is reserved`, `choose a name other than ${reserved.join(", ")}`);
        }
    }

    const networks = checkNetworks(err, host, args.networks);
    return { host, version, image, database, user, networks, names: databaseNames(name, networks === undefined) };
}

function checkNetworks(
    err: ErrorFactory,
    host: Host,
    networks: readonly BridgeNet[] | undefined,
): readonly BridgeNet[] | undefined {
    if (networks === undefined) return undefined;
    if (!Array.isArray(networks))
        throw err("networks", "is not a list", "pass an array of BridgeNet, e.g. networks: [frontnet]");
    // An empty list would leave the container on Docker's default bridge, reachable by every container.
    if (networks.length === 0) {
        throw err(
            "networks",
            "is empty",
            "omit it for the database's own internal network, or list at least one BridgeNet",
        );
    }
    networks.forEach((net: unknown, i) => {
        if (!(net instanceof BridgeNet)) {
            throw err(`networks[${i}]`, "is not a BridgeNet", "create the network with new BridgeNet(name, { host })");
        }
        if (net.host !== host) {
            throw err(
                `networks[${i}]`,
                `is on host "${net.host.hostName}", not "${host.hostName}"`,
                "use a BridgeNet created on the database's Host",
            );
        }
        const first = networks.indexOf(net);
        if (first !== i) throw err(`networks[${i}]`, `repeats networks[${first}]`, "list each BridgeNet once");
    });
    return networks;
}

/**
 * A random password for `${name}-<role>`, as a secret. Letters and digits only, so it needs no
 * escaping in a URL, a shell or a config file; 32 of them carry about 190 bits.
 */
export function serverPassword(parent: pulumi.Resource, childName: string): pulumi.Output<string> {
    const password = new random.RandomPassword(childName, { length: 32, special: false }, { parent });
    // The provider marks `result` secret, but mocks and some engines do not: say it here.
    return pulumi.secret(password.result);
}

/** What differs between the engines' containers. */
export interface ServerContainer {
    /** Where the data volume is mounted inside the container. */
    readonly dataPath: string;
    /** `KEY=value` entries; the ones holding passwords must be secret Outputs. */
    readonly envs: pulumi.Input<string>[];
    /** Arguments for the image's entrypoint. @default - the image's own command */
    readonly command?: string[];
    /** The healthcheck command, exec form without the leading `CMD`. */
    readonly healthcheck: string[];
    /** Size of /dev/shm in MB. @default - Docker's 64 MB */
    readonly shmSize?: number;
    /** Signal that shuts the server down cleanly. @default - the image's STOPSIGNAL */
    readonly stopSignal?: string;
    /**
     * Plain (not secret) `KEY=value` entries among `envs` that a temporary server of this version needs
     * besides the engine's `POSTGRES_*`/`MARIADB_*` ones during a major upgrade, e.g. PGDATA. @default []
     */
    readonly upgradeEnv?: readonly string[];
}

/** The children createServer made. */
export interface ServerParts {
    readonly image: docker.RemoteImage;
    readonly volume: docker.Volume;
    /** The database's own internal network; absent when `networks` was given. */
    readonly network?: docker.Network;
    readonly container: docker.Container;
    readonly networkNames: pulumi.Output<string>[];
}

/** How long Pulumi waits for a new container to report healthy; a first initdb on a small droplet is slow. */
export const WAIT_TIMEOUT_SECONDS = 180;
/** How long a server gets to shut down cleanly before Docker kills it. */
export const STOP_TIMEOUT_SECONDS = 60;

/** The container's inputs that Docker's provider changes in place (or only in the state), not by replacing it. */
export const CONTAINER_UPDATED_IN_PLACE = ["restart", "wait", "waitTimeout", "destroyGraceSeconds"] as const;

/**
 * Pulls the image and creates the data volume, the network (unless given) and the container. The container
 * waits for what `beforeContainer` returns, given the image and the container's inputs: the backup taken
 * before a change that replaces it, and the major upgrade.
 */
export function createServer(
    parent: pulumi.Resource,
    name: string,
    n: NormalizedServer,
    c: ServerContainer,
    beforeContainer: (image: docker.RemoteImage, container: docker.ContainerArgs) => pulumi.Resource[],
): ServerParts {
    const opts = { parent, provider: n.host.provider, dependsOn: n.host.ready };

    const image = new docker.RemoteImage(`${name}-image`, { name: n.image, keepLocally: true }, opts);

    // A separate resource with a fixed name, so replacing the container (new image, new settings)
    // mounts the same data. Kept on delete: removing the component or `pulumi destroy` leaves the
    // data on the host (remove it with `docker volume rm <name>-data`). Dropping a database must be
    // a deliberate act, not a line deleted from a program. Because the name is fixed, a recreated
    // component adopts the kept volume — which still holds the old password (see `password`).
    const volume = new docker.Volume(
        `${name}-data`,
        {
            name: n.names.volume.name,
            labels: labels({ database: name }),
        },
        { ...opts, retainOnDelete: true },
    );

    let network: docker.Network | undefined;
    let networkNames: pulumi.Output<string>[];
    if (n.names.network !== undefined) {
        // Internal: linked apps reach the database, the database reaches nothing outside.
        network = new docker.Network(
            `${name}-net`,
            {
                name: n.names.network.name,
                driver: "bridge",
                internal: true,
                labels: labels({ network: n.names.network.name }),
            },
            { ...opts, deleteBeforeReplace: true },
        ); // fixed name: the old network must go first
        networkNames = [network.name];
    } else {
        networkNames = (n.networks ?? []).map(net => net.networkName);
    }

    const args: docker.ContainerArgs = {
        // Two servers on one data directory corrupt it, so there is never more than one container:
        // replacement is delete-before-replace (below), which also makes this fixed name safe.
        name: n.names.container.name,
        image: image.imageId,
        envs: c.envs,
        command: c.command,
        volumes: [{ volumeName: volume.name, containerPath: c.dataPath }],
        // No `ports`: the database is reachable only over its networks, by its name.
        networksAdvanced: networkNames.map(net => ({ name: net, aliases: [n.names.container.name] })),
        restart: "unless-stopped",
        healthcheck: {
            tests: ["CMD", ...c.healthcheck],
            interval: "5s",
            timeout: "5s",
            retries: 5,
            // A first start initialises the data directory; failures then do not count.
            startPeriod: "60s",
        },
        // `pulumi up` returns only once the server answers, so a linked app's release step finds it.
        wait: true,
        waitTimeout: WAIT_TIMEOUT_SECONDS,
        shmSize: c.shmSize,
        stopSignal: c.stopSignal,
        stopTimeout: STOP_TIMEOUT_SECONDS,
        // Without this the provider force-removes a running server on replacement: a crash, not a shutdown.
        destroyGraceSeconds: STOP_TIMEOUT_SECONDS,
        logDriver: "json-file",
        logOpts: { "max-size": "10m", "max-file": "3" },
        labels: labels({ database: name }),
    };
    const waitFor = beforeContainer(image, args);
    const container = new docker.Container(`${name}-container`, args, {
        ...opts,
        dependsOn: [...n.host.ready, ...waitFor],
        deleteBeforeReplace: true,
    });

    return { image, volume, network, container, networkNames };
}

/** `scheme://user:password@host:port/database`, secret; user and password URL-encoded. */
export function connectionUrl(
    scheme: string,
    n: NormalizedServer,
    hostname: string,
    port: number,
    password: pulumi.Output<string>,
): pulumi.Output<string> {
    return pulumi.secret(
        password.apply(
            p =>
                `${scheme}://${encodeURIComponent(n.user)}:${encodeURIComponent(p)}@${hostname}:${port}/${encodeURIComponent(n.database)}`,
        ),
    );
}
