import * as pulumi from "@pulumi/pulumi";
import type { DatabaseArgs } from "./args";
import { DatabaseServer, Engine } from "./base";
import { POSTGRES_ARGS } from "../schemas";

/** Arguments of a {@link Postgres} server: the shared database arguments and Postgres's own. */
export interface PostgresArgs extends DatabaseArgs {
    /**
     * The Postgres major version: one of "14", "15", "16", "17", "18". It picks the official image
     * `postgres:<version>` and where the data lives inside it. Raising it on an existing database
     * upgrades the data in the same `pulumi up`: dump and restore into a copy, rows counted, the old
     * data kept in the volume `<name>-data-<old version>` (see the README, "Major upgrades"). Lowering
     * it fails the deploy before anything changes.
     * @default "17"
     */
    readonly version?: string;
    /**
     * Size of /dev/shm in MB. Postgres keeps parallel-query memory there; Docker's 64 MB default
     * makes larger queries fail with "could not resize shared memory segment".
     * @default 256
     */
    readonly shmSize?: number;
}

const POSTGRES: Engine<PostgresArgs> = {
    component: "Postgres",
    engine: "postgres",
    repository: "postgres",
    versions: ["14", "15", "16", "17", "18"],
    defaultVersion: "17",
    reservedDatabases: ["template0", "template1"],
    reservedUsers: [],
    schema: POSTGRES_ARGS,
    scheme: "postgres",
    port: 5432,
    envKeys: ["DATABASE_URL"],
    check: (err, args) => {
        const shmSize = args.shmSize ?? 256;
        if (!Number.isInteger(shmSize) || shmSize < 1) {
            throw err("shmSize", `${shmSize} is not a size in MB`, "use a whole number of megabytes, at least 1");
        }
    },
    container: ({ args, server: n, password }) => {
        const paths = postgresPaths(n.version);
        return {
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
            shmSize: args.shmSize ?? 256,
            stopSignal: "SIGINT", // "fast" shutdown, as the official image sets
            upgradeEnv: [`PGDATA=${paths.pgdata}`],
        };
    },
    env: (_, url) => ({ DATABASE_URL: url }),
};

/**
 * A Postgres server in a container on the host: the official image pinned by major version, data
 * on a named volume that outlives the container, a random password, a healthcheck `pulumi up`
 * waits for, and no published port. Link it to an App to give the app `DATABASE_URL`
 * (`postgres://user:password@host:5432/database`).
 *
 * @example
 * const db = new Postgres("counter-db", { host });
 * new App("counter", { host, build: "./app", link: [db] });
 */
export class Postgres extends DatabaseServer<PostgresArgs> {
    constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
        super(POSTGRES, name, args, opts);
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
