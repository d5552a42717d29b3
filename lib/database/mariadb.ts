import * as pulumi from "@pulumi/pulumi";
import type { DatabaseArgs } from "./args";
import { DatabaseServer, Engine } from "./base";
import { MARIADB_ARGS } from "../schemas";

/** Arguments of a {@link MariaDB} server: the shared database arguments and MariaDB's own. */
export interface MariaDBArgs extends DatabaseArgs {
    /**
     * The MariaDB version: one of "10.6", "10.11", "11" (the long-term releases and the current
     * major). It picks the official image `mariadb:<version>`. Moving up a version upgrades the data
     * in the same `pulumi up`: mariadb-upgrade on a copy, rows counted, the old data kept in the volume
     * `<name>-data-<old version>` (see the README, "Major upgrades"); moving down fails the deploy
     * before anything changes.
     * @default "11"
     */
    readonly version?: string;
}

const PORT = 3306;
const ENV_KEYS = ["DATABASE_URL", "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD"] as const;

const MARIADB: Engine<MariaDBArgs> = {
    component: "MariaDB",
    engine: "mariadb",
    repository: "mariadb",
    versions: ["10.6", "10.11", "11"],
    defaultVersion: "11",
    reservedDatabases: ["mysql", "information_schema", "performance_schema", "sys"],
    // root is the separate admin account; the image creates healthcheck and mysql for itself.
    reservedUsers: ["root", "healthcheck", "mysql"],
    schema: MARIADB_ARGS,
    scheme: "mysql",
    port: PORT,
    envKeys: ENV_KEYS,
    // A known root password rather than MARIADB_RANDOM_ROOT_PASSWORD: that one is printed to the
    // container log and nowhere else; this one stays in Pulumi's state as a secret.
    otherPasswords: ["root"],
    container: ({ server: n, password, otherPasswords }) => ({
        dataPath: "/var/lib/mysql",
        envs: [
            `MARIADB_DATABASE=${n.database}`,
            `MARIADB_USER=${n.user}`,
            pulumi.secret(pulumi.interpolate`MARIADB_PASSWORD=${password}`),
            pulumi.secret(pulumi.interpolate`MARIADB_ROOT_PASSWORD=${otherPasswords.root}`),
            "MARIADB_ROOT_HOST=localhost",
            // Runs mariadb-upgrade when the image is newer than the data, and creates the
            // healthcheck user on data initialised by an image that predates it.
            "MARIADB_AUTO_UPGRADE=1",
        ],
        // Arguments starting with "-" go to mariadbd. unicode_ci rather than 11's uca1400 default,
        // which older MySQL clients (and their drivers) do not know.
        command: ["--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci"],
        // The image's own check, as the healthcheck user it creates; --connect goes over TCP, so the
        // server the entrypoint runs while initialising (no networking) does not count.
        healthcheck: ["healthcheck.sh", "--connect", "--innodb_initialized"],
    }),
    env: ({ name, server: n }, url, password) =>
        ({
            DATABASE_URL: url,
            DB_HOST: name,
            DB_PORT: String(PORT),
            DB_NAME: n.database,
            DB_USER: n.user,
            DB_PASSWORD: password,
        }) satisfies Record<(typeof ENV_KEYS)[number], string>,
};

/**
 * A MariaDB server in a container on the host: the official image pinned by version, utf8mb4
 * throughout, data on a named volume that outlives the container, random user and root passwords,
 * a healthcheck `pulumi up` waits for, and no published port. Link it to an App to give the app
 * `DATABASE_URL` (mysql://) and `DB_HOST`, `DB_PORT`, `DB_NAME`, `DB_USER`, `DB_PASSWORD`.
 *
 * @example
 * const db = new MariaDB("wp-db", { host });
 * new App("blog", { host, image: "wordpress:6.8-php8.4-apache", link: [db] });
 */
export class MariaDB extends DatabaseServer<MariaDBArgs> {
    /**
     * The root password (secret), for administration from inside the container
     * (`docker exec -it <name> mariadb -uroot -p`): root may log in from localhost only.
     */
    readonly rootPassword: pulumi.Output<string>;

    constructor(name: string, args: MariaDBArgs, opts?: pulumi.ComponentResourceOptions) {
        super(MARIADB, name, args, opts);
        this.rootPassword = this.otherPasswords.root;
    }
}
