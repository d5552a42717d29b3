// The component Postgres and MariaDB both are: what they share lives here, and each engine file
// gives an `Engine` (its image, versions, container settings and what a linked App receives).
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { ErrorFactory, configErrors } from "../errors";
import { Host } from "../host";
import type { DatabaseArgs } from "./args";
import { checkArgs, Schema } from "../check";
import { claim, scopeOf } from "../claims";
import { BackupParts, BackupTarget, createBackup, createBackupBeforeChange, normalizeBackup } from "./backup";
import { Database, DATABASE_BRAND } from "./database";
import { createUpgrade, UpgradeTarget } from "./upgrade";
import {
    CONTAINER_UPDATED_IN_PLACE,
    connectionUrl,
    createServer,
    EngineFacts,
    NormalizedServer,
    normalizeServerArgs,
    ServerContainer,
    serverPassword,
} from "./server";

/** What the engine hooks get: the component's name, its args, and what the base made of them. */
export interface ServerSettings<A extends DatabaseArgs> {
    readonly name: string;
    readonly args: A;
    /** The shared args, checked, with defaults applied. */
    readonly server: NormalizedServer;
    /** The user's password (secret). */
    readonly password: pulumi.Output<string>;
    /** The engine's other passwords by role (see `Engine.otherPasswords`), secret. */
    readonly otherPasswords: Readonly<Record<string, pulumi.Output<string>>>;
}

/** All that differs between Postgres and MariaDB, given by each engine file. */
export interface Engine<A extends DatabaseArgs> extends EngineFacts {
    /** The component class: the type token is `dropyard:index:<component>`, and errors name it. */
    readonly component: string;
    /** `Database.engine`, e.g. `"postgres"`. */
    readonly engine: string;
    /** The connection URL's scheme, e.g. `"mysql"`. */
    readonly scheme: string;
    /** The port the server listens on inside its networks. */
    readonly port: number;
    /** The keys of `env`, in order. */
    readonly envKeys: readonly string[];
    /**
     * Passwords besides the user's, by role: each a `<name>-<role>-password` child, an output
     * `<role>Password`. @default []
     */
    readonly otherPasswords?: readonly string[];
    /** The runtime types of its args (lib/schemas.ts), checked first. */
    readonly schema: Schema;
    /** Checks of the engine's own args; they run after the shared ones, before anything is created. */
    readonly check?: (err: ErrorFactory, args: A) => void;
    /** The container's engine settings: data path, environment, command, healthcheck. */
    readonly container: (s: ServerSettings<A>) => ServerContainer;
    /** What a linked App receives, given the URL and the user's password (the base makes it secret). */
    readonly env: (s: ServerSettings<A>, url: string, password: string) => Record<string, string>;
}

/**
 * A database server in a container on the host: the image pinned by version, data on a named
 * volume that outlives the container, a random password, a healthcheck `pulumi up` waits for, and
 * no published port. Link it to an App to give the app its `env`.
 */
export abstract class DatabaseServer<A extends DatabaseArgs> extends pulumi.ComponentResource implements Database {
    /** Marks the component as a {@link Database} for `App.link`. */
    readonly [DATABASE_BRAND] = true as const;
    /** `"postgres"` or `"mariadb"`. */
    readonly engine: string;
    /** The component's name: also the container's name and its host name on its networks. */
    readonly databaseName: string;
    /** The Host the database runs on. */
    readonly host: Host;
    /** `<scheme>://user:password@host:port/database` (secret): `postgres://…` or `mysql://…`. */
    readonly url: pulumi.Output<string>;
    /**
     * The user's password (secret). It is set when the data volume is first initialised; a kept
     * volume from an earlier component of the same name still has that component's password.
     */
    readonly password: pulumi.Output<string>;
    /** What a linked App receives, e.g. `DATABASE_URL` (secret). */
    readonly env: pulumi.Output<Record<string, string>>;
    readonly envKeys: readonly string[];
    /** The host name apps use to reach the database (its component name). */
    readonly hostname: string;
    /** The port the server listens on inside its networks (never published on the host). */
    readonly port: number;
    /** The database's name inside the server. */
    readonly database: string;
    /** The user that owns the database. */
    readonly user: string;
    /** The server's major version, e.g. `"17"` or `"11"`. */
    readonly version: string;
    readonly networkNames: pulumi.Output<string>[];
    /** The children, for whoever needs to reach past this component. */
    readonly container: docker.Container;
    /** The data volume, `<name>-data`, kept when the component is removed. */
    readonly volume: docker.Volume;
    /** The server image, pulled on the host. */
    readonly image: docker.RemoteImage;
    /** The database's own internal network; absent when `networks` was given. */
    readonly network?: docker.Network;
    /**
     * The passphrase the backups are encrypted with (secret), when `backup` is given. Export it and keep
     * it somewhere else than the host: without it no backup can be read.
     */
    readonly backupPassphrase?: pulumi.Output<string>;
    /**
     * When `backup` is given: the scripts on the host (`backupScript` runs a backup now, `restoreScript
     * --help` tells how to restore), the status file (`status.json`), the cron file and the command that
     * installs them.
     */
    readonly backup?: BackupParts;
    /** The engine's other passwords by role (see `Engine.otherPasswords`). */
    protected readonly otherPasswords: Readonly<Record<string, pulumi.Output<string>>>;

    protected constructor(engine: Engine<A>, name: string, args: A, opts?: pulumi.ComponentResourceOptions) {
        // Every check, and the claim of its Docker names, before the component itself exists.
        const err = configErrors(engine.component, name, opts?.parent);
        checkArgs(err, engine.schema, name, args);
        const server = normalizeServerArgs(err, name, args, engine);
        engine.check?.(err, args);
        const backup = args.backup !== undefined ? normalizeBackup(err, name, server.host, args.backup) : undefined;
        claim(err, scopeOf(server.host), `${engine.component} "${name}"`, server.names);
        super(`dropyard:index:${engine.component}`, name, {}, opts);

        const password = serverPassword(this, `${name}-password`);
        const otherPasswords = Object.fromEntries(
            (engine.otherPasswords ?? []).map(role => [role, serverPassword(this, `${name}-${role}-password`)]),
        );
        const settings: ServerSettings<A> = { name, args, server, password, otherPasswords };
        const target: BackupTarget = {
            name,
            host: server.host,
            engine: engine.engine as BackupTarget["engine"],
            component: engine.component,
            database: server.database,
            user: server.user,
        };
        const backupParts = backup !== undefined ? createBackup(this, target, backup, args.backup!) : undefined;
        const container = engine.container(settings);
        const upgradeTarget: UpgradeTarget = {
            ...target,
            version: server.version,
            versions: engine.versions,
            volume: server.names.volume.name,
        };
        // Before a new image replaces the container: the backup, then the major upgrade (a no-op within a major).
        const parts = createServer(this, name, server, container, (image, containerArgs) => {
            const replacing = Object.fromEntries(
                Object.entries(containerArgs).filter(
                    ([k]) => !(CONTAINER_UPDATED_IN_PLACE as readonly string[]).includes(k),
                ),
            );
            const backedUp =
                backupParts === undefined
                    ? []
                    : [createBackupBeforeChange(this, target, backupParts, image.imageId, replacing)];
            return [createUpgrade(this, upgradeTarget, container, image, backedUp)];
        });

        this.engine = engine.engine;
        this.databaseName = name;
        this.hostname = name;
        this.host = server.host;
        this.port = engine.port;
        this.database = server.database;
        this.user = server.user;
        this.version = server.version;
        this.password = password;
        this.otherPasswords = otherPasswords;
        this.url = connectionUrl(engine.scheme, server, name, engine.port, password);
        this.env = pulumi.secret(pulumi.all([this.url, password]).apply(([url, p]) => engine.env(settings, url, p)));
        this.envKeys = engine.envKeys;
        this.networkNames = parts.networkNames;
        this.container = parts.container;
        this.volume = parts.volume;
        this.image = parts.image;
        this.network = parts.network;
        this.backup = backupParts;
        this.backupPassphrase = backupParts?.passphrase;
        this.registerOutputs({
            backupPassphrase: this.backupPassphrase,
            backupScript: backupParts?.backupScript,
            restoreScript: backupParts?.restoreScript,
            backupStatus: backupParts?.statusFile,
            url: this.url,
            password: this.password,
            env: this.env,
            ...Object.fromEntries(Object.entries(otherPasswords).map(([role, p]) => [`${role}Password`, p])),
            host: this.hostname,
            port: this.port,
            database: this.database,
            user: this.user,
        });
    }
}
