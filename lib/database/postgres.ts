import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { BridgeNet } from "../bridge-net";
import { Database, DATABASE_BRAND } from "./database";
import { connectionUrl, createServer, EngineFacts, normalizeServerArgs, serverPassword } from "./server";
import { configErrors } from "../errors";
import { Host } from "../host";

const FACTS: EngineFacts = {
    repository: "postgres",
    versions: ["14", "15", "16", "17", "18"],
    defaultVersion: "17",
    reservedDatabases: ["template0", "template1"],
    reservedUsers: [],
};
const PORT = 5432;

export interface PostgresArgs {
    /** The host the database runs on. */
    readonly host: Host;
    /**
     * The Postgres major version: one of "14", "15", "16", "17", "18". It picks the official image
     * `postgres:<version>` and where the data lives inside it. Changing it on an existing database
     * does not upgrade the data: dump and restore (or pg_upgrade) first.
     * @default "17"
     */
    readonly version?: string;
    /**
     * The image to run instead of the official one, e.g. a private mirror. It must behave like the
     * official image of `version` (same environment variables, data path and tools).
     * @default - `postgres:<version>`
     * @example image: "mirror.example.com/library/postgres:17"
     */
    readonly image?: string;
    /**
     * The database to create: lower-case letters, digits and underscores.
     * @default - the component's name with hyphens as underscores (`counter-db` → `counter_db`)
     */
    readonly database?: string;
    /**
     * The role that owns the database (and, as in the official image, the cluster's superuser).
     * @default "app"
     */
    readonly user?: string;
    /**
     * Networks to join instead of the database's own. When given, the database is on exactly these
     * networks and gets no network of its own; apps that link it join them all. Each must be a
     * BridgeNet on the same host.
     * @default - its own internal network `<name>-net`
     * @example networks: [frontnet]
     */
    readonly networks?: readonly BridgeNet[];
    /**
     * Size of /dev/shm in MB. Postgres keeps parallel-query memory there; Docker's 64 MB default
     * makes larger queries fail with "could not resize shared memory segment".
     * @default 256
     */
    readonly shmSize?: number;
}

/**
 * A Postgres server in a container on the host: the official image pinned by major version, data
 * on a named volume that outlives the container, a random password, a healthcheck `pulumi up`
 * waits for, and no published port. Link it to an App to give the app `DATABASE_URL`.
 *
 * @example
 * const db = new Postgres("counter-db", { host });
 * new App("counter", { host, build: "./app", link: [db] });
 */
export class Postgres extends pulumi.ComponentResource implements Database {
    readonly [DATABASE_BRAND] = true as const;
    readonly engine = "postgres";
    /** The component's name: also the container's name and its host name on its networks. */
    readonly databaseName: string;
    /** The Host the database runs on. */
    readonly host: Host;
    /** `postgres://user:password@host:5432/database` (secret). */
    readonly url: pulumi.Output<string>;
    /**
     * The user's password (secret). It is set when the data volume is first initialised; a kept
     * volume from an earlier component of the same name still has that component's password.
     */
    readonly password: pulumi.Output<string>;
    /** What a linked App receives: `DATABASE_URL` (secret). */
    readonly env: pulumi.Output<Record<string, string>>;
    readonly envKeys: readonly string[] = ["DATABASE_URL"];
    /** The host name apps use to reach the database (its component name). */
    readonly hostname: string;
    readonly port = PORT;
    /** The database's name inside the server. */
    readonly database: string;
    readonly user: string;
    readonly version: string;
    readonly networkNames: pulumi.Output<string>[];
    /** The children, for whoever needs to reach past this component. */
    readonly container: docker.Container;
    readonly volume: docker.Volume;
    readonly image: docker.RemoteImage;
    /** The database's own internal network; absent when `networks` was given. */
    readonly network?: docker.Network;

    constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dropyard:index:Postgres", name, {}, opts);
        const err = configErrors("Postgres", name);
        const n = normalizeServerArgs(err, name, args, FACTS);
        const shmSize = args.shmSize ?? 256;
        if (!Number.isInteger(shmSize) || shmSize < 1) {
            throw err("shmSize", `${shmSize} is not a size in MB`, "use a whole number of megabytes, at least 1");
        }

        const password = serverPassword(this, `${name}-password`);
        const paths = postgresPaths(n.version);
        const parts = createServer(this, name, n, {
            dataPath: paths.mount,
            envs: [
                `POSTGRES_USER=${n.user}`,
                pulumi.secret(pulumi.interpolate`POSTGRES_PASSWORD=${password}`),
                `POSTGRES_DB=${n.database}`,
                // The image's own default, stated so a mirror or stand-in cannot put data outside the volume.
                `PGDATA=${paths.pgdata}`,
            ],
            // -h 127.0.0.1 asks over TCP: the server the entrypoint runs while initialising listens
            // only on its socket, so this passes only once the real server is up.
            healthcheck: ["pg_isready", "-h", "127.0.0.1", "-U", n.user, "-d", n.database],
            shmSize,
            stopSignal: "SIGINT", // "fast" shutdown, as the official image sets
        });

        this.databaseName = name;
        this.hostname = name;
        this.host = n.host;
        this.database = n.database;
        this.user = n.user;
        this.version = n.version;
        this.password = password;
        this.url = connectionUrl("postgres", n, name, PORT, password);
        this.env = pulumi.secret(this.url.apply((url): Record<string, string> => ({ DATABASE_URL: url })));
        this.networkNames = parts.networkNames;
        this.container = parts.container;
        this.volume = parts.volume;
        this.image = parts.image;
        this.network = parts.network;
        this.registerOutputs({
            url: this.url, password: this.password, env: this.env,
            host: this.hostname, port: this.port, database: this.database, user: this.user,
        });
    }
}

/**
 * Where the data volume goes and where Postgres keeps its cluster. Postgres 18's image moved both:
 * the volume belongs at /var/lib/postgresql and PGDATA is /var/lib/postgresql/18/docker (so that
 * pg_upgrade --link can later see old and new clusters on one mount). Mounting 18 at the old path
 * would leave the data in the container's anonymous volume, lost on replacement.
 */
function postgresPaths(version: string): { mount: string; pgdata: string } {
    return Number(version) >= 18
        ? { mount: "/var/lib/postgresql", pgdata: `/var/lib/postgresql/${version}/docker` }
        : { mount: "/var/lib/postgresql/data", pgdata: "/var/lib/postgresql/data" };
}
