import * as pulumi from "@pulumi/pulumi";
import { Host } from "../host";

/** Marks Postgres and MariaDB instances so `App.link` can tell a database from anything else. */
const DATABASE = "__dropyardDatabase";

/**
 * What an App needs from a database it links: the variables to merge into its environment and the
 * networks to join. Postgres and MariaDB implement it.
 */
export interface Database {
    /** The brand `isDatabase` looks for. */
    readonly [DATABASE]: true;
    /** `"postgres"` or `"mariadb"`, for messages. */
    readonly engine: string;
    /** The component's name, which is also the container's host name on its networks. */
    readonly databaseName: string;
    /** The Host the database runs on; an App links only databases on its own host. */
    readonly host: Host;
    /** Variables a linked App receives (all secret, since the URL carries the password). */
    readonly env: pulumi.Output<Record<string, string>>;
    /** The keys of `env`, known at construction so an App can reject collisions before creating anything. */
    readonly envKeys: readonly string[];
    /** Docker networks the database is on; a linked App joins them all. */
    readonly networkNames: pulumi.Output<string>[];
}

/** Whether `value` is a dropyard database (Postgres or MariaDB), as `App.link` accepts. */
export function isDatabase(value: unknown): value is Database {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[DATABASE] === true;
}

/** The brand property's key, for the classes that implement Database. */
export const DATABASE_BRAND: typeof DATABASE = DATABASE;
