import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { BridgeNet } from "../bridge-net";
import { Database, DATABASE_BRAND } from "./database";
import { connectionUrl, createServer, EngineFacts, normalizeServerArgs, serverPassword } from "./server";
import { configErrors } from "../errors";
import { Host } from "../host";

const FACTS: EngineFacts = {
    repository: "mariadb",
    versions: ["10.6", "10.11", "11"],
    defaultVersion: "11",
    reservedDatabases: ["mysql", "information_schema", "performance_schema", "sys"],
    // root is the separate admin account; the image creates healthcheck and mysql for itself.
    reservedUsers: ["root", "healthcheck", "mysql"],
};
const PORT = 3306;
const ENV_KEYS = ["DATABASE_URL", "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD"] as const;

export interface MariaDBArgs {
    /** The host the database runs on. */
    readonly host: Host;
    /**
     * The MariaDB version: one of "10.6", "10.11", "11" (the long-term releases and the current
     * major). It picks the official image `mariadb:<version>`. Moving up a version upgrades the
     * data on first start (MARIADB_AUTO_UPGRADE); moving down is not supported.
     * @default "11"
     */
    readonly version?: string;
    /**
     * The image to run instead of the official one, e.g. a private mirror. It must behave like the
     * official image (same environment variables, data path and healthcheck.sh).
     * @default - `mariadb:<version>`
     * @example image: "mirror.example.com/library/mariadb:11"
     */
    readonly image?: string;
    /**
     * The database to create: lower-case letters, digits and underscores.
     * @default - the component's name with hyphens as underscores (`db-notes` → `db_notes`)
     */
    readonly database?: string;
    /**
     * The user apps connect as; it gets all privileges on `database` and nothing else.
     * @default "app"
     */
    readonly user?: string;
    /**
     * Networks to join instead of the database's own. When given, the database is on exactly these
     * networks and gets no network of its own; apps that link it join them all. Each must be a
     * BridgeNet on the same host.
     * @default - its own internal network `<name>-net`
     * @example networks: [authnet]
     */
    readonly networks?: readonly BridgeNet[];
}

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
export class MariaDB extends pulumi.ComponentResource implements Database {
    readonly [DATABASE_BRAND] = true as const;
    readonly engine = "mariadb";
    /** The component's name: also the container's name and its host name on its networks. */
    readonly databaseName: string;
    /** The Host the database runs on. */
    readonly host: Host;
    /** `mysql://user:password@host:3306/database` (secret). */
    readonly url: pulumi.Output<string>;
    /**
     * The user's password (secret). It is set when the data volume is first initialised; a kept
     * volume from an earlier component of the same name still has that component's password.
     */
    readonly password: pulumi.Output<string>;
    /**
     * The root password (secret), for administration from inside the container
     * (`docker exec -it <name> mariadb -uroot -p`): root may log in from localhost only.
     */
    readonly rootPassword: pulumi.Output<string>;
    /** What a linked App receives: DATABASE_URL and DB_* (secret). */
    readonly env: pulumi.Output<Record<string, string>>;
    readonly envKeys: readonly string[] = ENV_KEYS;
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

    constructor(name: string, args: MariaDBArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dropyard:index:MariaDB", name, {}, opts);
        const n = normalizeServerArgs(configErrors("MariaDB", name), name, args, FACTS);

        const password = serverPassword(this, `${name}-password`);
        // A known root password rather than MARIADB_RANDOM_ROOT_PASSWORD: that one is printed to the
        // container log and nowhere else; this one stays in Pulumi's state as a secret.
        const rootPassword = serverPassword(this, `${name}-root-password`);
        const parts = createServer(this, name, n, {
            dataPath: "/var/lib/mysql",
            envs: [
                `MARIADB_DATABASE=${n.database}`,
                `MARIADB_USER=${n.user}`,
                pulumi.secret(pulumi.interpolate`MARIADB_PASSWORD=${password}`),
                pulumi.secret(pulumi.interpolate`MARIADB_ROOT_PASSWORD=${rootPassword}`),
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
        });

        this.databaseName = name;
        this.hostname = name;
        this.host = n.host;
        this.database = n.database;
        this.user = n.user;
        this.version = n.version;
        this.password = password;
        this.rootPassword = rootPassword;
        this.url = connectionUrl("mysql", n, name, PORT, password);
        this.env = pulumi.secret(pulumi.all([this.url, password]).apply(([url, p]): Record<string, string> => ({
            DATABASE_URL: url,
            DB_HOST: name,
            DB_PORT: String(PORT),
            DB_NAME: n.database,
            DB_USER: n.user,
            DB_PASSWORD: p,
        } satisfies Record<(typeof ENV_KEYS)[number], string>)));
        this.networkNames = parts.networkNames;
        this.container = parts.container;
        this.volume = parts.volume;
        this.image = parts.image;
        this.network = parts.network;
        this.registerOutputs({
            url: this.url, password: this.password, rootPassword: this.rootPassword, env: this.env,
            host: this.hostname, port: this.port, database: this.database, user: this.user,
        });
    }
}
