import type { BridgeNet } from "../bridge-net";
import type { Host } from "../host";
import type { BackupArgs } from "./backup";

/**
 * The arguments Postgres and MariaDB share. Each engine's own args extend these and state only
 * what differs (the versions it supports, engine settings).
 */
export interface DatabaseArgs {
    /** The host the database runs on. */
    readonly host: Host;
    /**
     * The engine version; it picks the official image `<engine>:<version>`. Each engine lists the
     * versions it supports and its default on its own args.
     */
    readonly version?: string;
    /**
     * The image to run instead of the official one, e.g. a private mirror. It must behave like the
     * official image of `version` (same environment variables, data path, tools and healthcheck).
     * @default - `<engine>:<version>`, e.g. `postgres:17` or `mariadb:11`
     * @example image: "mirror.example.com/library/postgres:17"
     */
    readonly image?: string;
    /**
     * The database to create: lower-case letters, digits and underscores.
     * @default - the component's name with hyphens as underscores (`counter-db` → `counter_db`)
     */
    readonly database?: string;
    /**
     * The user apps connect as. It owns `database`; on Postgres it is also the cluster's superuser,
     * as in the official image, while on MariaDB it has all privileges on `database` and nothing else.
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
     * Back the database up with restic: a dump streamed from the running server on `schedule`,
     * encrypted, verified after writing, kept by `retention`, to a directory on the host and/or an
     * S3-compatible bucket (DigitalOcean Spaces); also taken before a new image replaces the container.
     * `true` for the defaults. Restore with the script in `restoreScript`.
     * @default - no backups
     * @example backup: { bucket: { endpoint: "https://fra1.digitaloceanspaces.com", region: "fra1", bucket: "acme-backups", accessKeyId: cfg.requireSecret("spacesKey"), secretAccessKey: cfg.requireSecret("spacesSecret") } }
     */
    readonly backup?: BackupArgs | true;
}
