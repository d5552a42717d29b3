// Backups of a Postgres or MariaDB (the `backup` argument): checks and defaults, and the children that
// install the scripts on the host and take a backup before the container is replaced. The scripts are
// rendered by render/backup.ts.
import { createHash } from "node:crypto";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ErrorFactory } from "../errors";
import type { Host } from "../host";
import {
    BackupDestination,
    backupPaths,
    BackupPlan,
    BackupRetention,
    backupSchedule,
    renderBackupEnv,
    renderBackupInstallScript,
    renderBackupRemoveScript,
} from "../render/backup";
import { checkImageReference } from "../validate";

/** An S3-compatible bucket, designed for DigitalOcean Spaces. */
export interface BackupBucket {
    /**
     * The endpoint, an https URL.
     * @example "https://fra1.digitaloceanspaces.com"
     */
    readonly endpoint: string;
    /**
     * The region the bucket is in (Spaces: the datacenter, as in the endpoint).
     * @example "fra1"
     */
    readonly region: string;
    /** The bucket's name, as S3 accepts it: 3–63 lower-case letters, digits, dots and hyphens. */
    readonly bucket: string;
    /** A folder inside the bucket for this database's repository. @default - the database's component name */
    readonly path?: string;
    /** The access key's id. Pass it as a secret (`config.requireSecret`); a plain string gets a warning. */
    readonly accessKeyId: pulumi.Input<string>;
    /** The secret key. It must be a secret (`config.requireSecret`); a plain string is refused. */
    readonly secretAccessKey: pulumi.Input<string>;
}

/** How many snapshots `restic forget` keeps. Each period keeps its newest snapshot. */
export interface BackupRetentionArgs {
    /** @default 7 */
    readonly daily?: number;
    /** @default 4 */
    readonly weekly?: number;
    /** @default 0 (none kept beyond the weekly ones) */
    readonly monthly?: number;
}

/**
 * Backups of the database with restic: a logical dump streamed into an encrypted repository on a
 * schedule, verified after each write, kept by retention, restorable with one command on the host.
 */
export interface BackupArgs {
    /**
     * When to back up, in cron syntax (five fields: minute hour day-of-month month day-of-week, or @daily…).
     * @default - daily at a minute between 01:00 and 04:59 taken from a hash of host and database, so the
     * databases of a host do not all start at once
     * @example "30 2 * * *"
     */
    readonly schedule?: string;
    /** How many backups to keep. @default { daily: 7, weekly: 4 } */
    readonly retention?: BackupRetentionArgs;
    /**
     * An absolute directory on the host for a restic repository. Given with `bucket`, both are written.
     * @default - `<host dataDir>/backups/<name>/repository` when `bucket` is absent; none when it is given
     */
    readonly directory?: string;
    /** An S3-compatible bucket (DigitalOcean Spaces) for a restic repository. @default - none */
    readonly bucket?: BackupBucket;
    /**
     * The passphrase restic encrypts with. Keep it: without it no backup can be read.
     * @default - 48 random letters and digits (`@pulumi/random`), output as `backupPassphrase`
     */
    readonly passphrase?: pulumi.Input<string>;
    /** The restic image. @default "restic/restic:0.18.0" */
    readonly image?: string;
    /**
     * Install a cron entry (`/etc/cron.d`, root or passwordless sudo needed) that runs the backup on `schedule`.
     * Without it the script is still written (see `backupScript`) for you to run.
     * @default true on a droplet or server; false on a `local` host
     */
    readonly cron?: boolean;
    /** FOR TEST SERVERS ONLY: docker networks restic joins, e.g. the one a test S3 server is on. @default [] */
    readonly networks?: pulumi.Input<string>[];
    /**
     * FOR TEST SERVERS ONLY: a PEM bundle restic trusts for the bucket's endpoint (`--cacert`).
     * @default - the restic image's trusted roots
     */
    readonly caBundle?: pulumi.Input<string>;
}

export const RESTIC_IMAGE = "restic/restic:0.18.0";

/** The checked args with their defaults. */
export interface NormalizedBackup {
    readonly schedule: string;
    readonly retention: BackupRetention;
    readonly destinations: Readonly<Record<string, BackupDestination>>;
    readonly bucket?: BackupBucket;
    readonly image: string;
    readonly cron: boolean;
    readonly stateDir: string;
}

const CRON_MACROS = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];
const CRON_FIELDS: readonly { name: string; min: number; max: number; names?: readonly string[] }[] = [
    { name: "minute", min: 0, max: 59 },
    { name: "hour", min: 0, max: 23 },
    { name: "day of month", min: 1, max: 31 },
    {
        name: "month",
        min: 1,
        max: 12,
        names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    },
    { name: "day of week", min: 0, max: 7, names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] },
];

/**
 * Why a cron expression does not parse as cron.d reads it (five fields of `*`, numbers, ranges, steps,
 * lists and month/day names; or a macro), or undefined when it does.
 */
export function cronProblem(expr: string): string | undefined {
    const e = expr.trim();
    if (CRON_MACROS.includes(e)) return undefined;
    if (e.startsWith("@")) return `macro ${e} is not one of ${CRON_MACROS.join(", ")}`;
    const fields = e.split(/\s+/);
    if (fields.length !== 5) return `has ${fields.length} fields, not 5`;
    for (const [i, field] of fields.entries()) {
        const f = CRON_FIELDS[i];
        const value = (s: string): number | undefined => {
            const byName = f.names?.indexOf(s.toLowerCase()) ?? -1;
            if (byName >= 0) return byName + (f.name === "month" ? 1 : 0);
            if (!/^\d+$/.test(s)) return undefined;
            const n = Number(s);
            return n >= f.min && n <= f.max ? n : undefined;
        };
        for (const part of field.split(",")) {
            const [range, step, ...extra] = part.split("/");
            if (extra.length > 0 || (step !== undefined && !/^[1-9]\d*$/.test(step)))
                return `${f.name} "${part}" has a bad step`;
            if (range === "*") continue;
            const [lo, hi, ...more] = range.split("-");
            const a = value(lo);
            const b = hi === undefined ? a : value(hi);
            if (more.length > 0 || a === undefined || b === undefined || a > b) {
                return `${f.name} "${part}" is not ${f.min}-${f.max}${f.names ? " or a name" : ""}`;
            }
        }
    }
    return undefined;
}

/** Whether S3 (and Spaces) accept `name` for a bucket. */
export function isBucketName(name: string): boolean {
    return (
        /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
        !name.includes("..") &&
        !/^\d+\.\d+\.\d+\.\d+$/.test(name) &&
        !name.startsWith("xn--") &&
        !/\.-|-\./.test(name)
    );
}

/** Checks `backup` and applies its defaults. Creates nothing. */
export function normalizeBackup(err: ErrorFactory, name: string, host: Host, b: BackupArgs | true): NormalizedBackup {
    const args: BackupArgs = b === true ? {} : b;
    if (typeof args !== "object" || args === null)
        throw err("backup", "is not an object", "give backup: {} (or true) for the defaults");
    const stateDir = path.posix.join(host.dataDir, "backups", name);

    const schedule = args.schedule ?? backupSchedule(`${host.hostName}/${name}`);
    const problem = typeof schedule === "string" ? cronProblem(schedule) : "is not a string";
    if (problem !== undefined) {
        throw err(
            "backup.schedule",
            `"${schedule}" does not parse: ${problem}`,
            'use five cron fields, e.g. "30 2 * * *" (daily at 02:30)',
        );
    }

    const r = args.retention ?? {};
    const retention = { daily: r.daily ?? 7, weekly: r.weekly ?? 4, monthly: r.monthly ?? 0 };
    for (const [k, v] of Object.entries(retention) as [keyof BackupRetention, number][]) {
        const given = r[k] !== undefined;
        if (!Number.isInteger(v) || (given && v <= 0) || v < 0) {
            throw err(
                `backup.retention.${k}`,
                `${v} is not a positive whole number`,
                `keep at least 1, or leave ${k} out`,
            );
        }
    }

    const destinations: Record<string, BackupDestination> = {};
    if (args.directory !== undefined) {
        if (typeof args.directory !== "string" || !path.posix.isAbsolute(args.directory)) {
            throw err(
                "backup.directory",
                `"${args.directory}" is not an absolute path`,
                "use a path on the host starting with /",
            );
        }
        destinations.directory = { kind: "directory", path: path.posix.normalize(args.directory) };
    } else if (args.bucket === undefined) {
        destinations.directory = { kind: "directory", path: backupPaths(stateDir).repository };
    }
    if (args.bucket !== undefined) destinations.bucket = checkBucket(err, name, args.bucket);

    const image = args.image ?? RESTIC_IMAGE;
    checkImageReference(err, "backup.image", image, RESTIC_IMAGE);
    if (args.passphrase !== undefined && typeof args.passphrase === "string") {
        throw err(
            "backup.passphrase",
            "is a plain string",
            'pass it as a secret, e.g. config.requireSecret("backupPassphrase"), or leave it out for a random one',
        );
    }
    if (args.networks !== undefined && !Array.isArray(args.networks)) {
        throw err("backup.networks", "is not a list", "pass an array of docker network names");
    }
    return {
        schedule,
        retention,
        destinations,
        bucket: args.bucket,
        image,
        stateDir,
        cron: args.cron ?? host.target !== "local",
    };
}

function checkBucket(err: ErrorFactory, name: string, b: BackupBucket): BackupDestination {
    if (typeof b !== "object" || b === null)
        throw err(
            "backup.bucket",
            "is not an object",
            "give { endpoint, region, bucket, accessKeyId, secretAccessKey }",
        );
    let url: URL | undefined;
    try {
        url = new URL(b.endpoint);
    } catch {
        url = undefined;
    }
    if (url?.protocol !== "https:" || url.pathname !== "/" || url.search !== "" || url.username !== "") {
        throw err(
            "backup.bucket.endpoint",
            `"${b.endpoint}" is not an https URL`,
            "give the endpoint without a path, e.g. https://fra1.digitaloceanspaces.com",
        );
    }
    if (typeof b.region !== "string" || !/^[a-z0-9-]{2,32}$/.test(b.region)) {
        throw err(
            "backup.bucket.region",
            `"${b.region}" is not a region`,
            "give the region, e.g. fra1 for Spaces in Frankfurt",
        );
    }
    if (typeof b.bucket !== "string" || !isBucketName(b.bucket)) {
        throw err(
            "backup.bucket.bucket",
            `"${b.bucket}" is not a name S3 accepts`,
            "use 3-63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit",
        );
    }
    const prefix = b.path ?? name;
    if (
        typeof prefix !== "string" ||
        !/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(prefix) ||
        prefix.split("/").some(s => s === "." || s === "..")
    ) {
        throw err(
            "backup.bucket.path",
            `"${prefix}" is not a folder name`,
            "use letters, digits, dots, hyphens and underscores, folders separated by /",
        );
    }
    if (b.accessKeyId === undefined || b.secretAccessKey === undefined) {
        throw err(
            "backup.bucket",
            "lacks accessKeyId or secretAccessKey",
            "give both, as secrets (config.requireSecret)",
        );
    }
    if (typeof b.secretAccessKey === "string") {
        throw err(
            "backup.bucket.secretAccessKey",
            "is a plain string",
            'pass it as a secret, e.g. config.requireSecret("spacesSecret")',
        );
    }
    if (typeof b.accessKeyId === "string") {
        pulumi.log.warn(
            `backup.bucket.accessKeyId is a plain string; pass it as a secret (config.requireSecret) so it stays out of the state in clear`,
        );
    }
    return { kind: "bucket", endpoint: b.endpoint.replace(/\/+$/, ""), bucket: b.bucket, prefix };
}

/** What the database tells the backup about itself. */
export interface BackupTarget {
    readonly name: string;
    readonly host: Host;
    readonly engine: "postgres" | "mariadb";
    readonly component: string;
    readonly database: string;
    readonly user: string;
}

/** The children made for `backup`, and what the component outputs. */
export interface BackupParts {
    /** The passphrase the backups are encrypted with (secret): keep it, no backup restores without it. */
    readonly passphrase: pulumi.Output<string>;
    /** The script that takes a backup now, on the host. */
    readonly backupScript: string;
    /** The script that restores one; `--help` tells how. */
    readonly restoreScript: string;
    /** JSON with each destination's last success and last failure. */
    readonly statusFile: string;
    /** The cron entry, when the schedule is installed. */
    readonly cronFile?: string;
    /** Writes the scripts, the secrets and the cron entry. */
    readonly install: pulumi.CustomResource;
}

/** Creates the passphrase (unless given) and the host command that installs the backup. */
export function createBackup(
    parent: pulumi.Resource,
    t: BackupTarget,
    n: NormalizedBackup,
    args: BackupArgs | true,
): BackupParts {
    const a: BackupArgs = args === true ? {} : args;
    const passphrase =
        a.passphrase !== undefined
            ? pulumi.secret(a.passphrase)
            : pulumi.secret(
                  new random.RandomPassword(`${t.name}-backup-passphrase`, { length: 48, special: false }, { parent })
                      .result,
              );
    const paths = backupPaths(n.stateDir);
    // cron ignores /etc/cron.d files with dots in their names.
    const cronFile = n.cron ? `/etc/cron.d/dropyard-${t.host.hostName}-backup-${t.name}` : undefined;
    const owner = `${t.component} "${t.name}" on host "${t.host.hostName}"`;
    const plan = pulumi.all(a.networks ?? []).apply((networks): BackupPlan => ({
        engine: t.engine,
        container: t.name,
        database: t.database,
        user: t.user,
        stateDir: n.stateDir,
        image: n.image,
        destinations: n.destinations,
        retention: n.retention,
        networks,
        caBundle: a.caBundle !== undefined,
        owner,
    }));
    const env = pulumi.secret(
        pulumi.all([passphrase, n.bucket?.accessKeyId, n.bucket?.secretAccessKey]).apply(([p, id, key]) =>
            renderBackupEnv({
                RESTIC_PASSWORD: p,
                ...(n.bucket
                    ? { AWS_ACCESS_KEY_ID: id!, AWS_SECRET_ACCESS_KEY: key!, AWS_DEFAULT_REGION: n.bucket.region }
                    : {}),
            }),
        ),
    );
    const install = t.host.command(
        `${t.name}-backup`,
        {
            create: pulumi.all([plan, a.caBundle]).apply(([p, ca]) =>
                renderBackupInstallScript({
                    plan: p,
                    caBundlePem: ca,
                    cron: cronFile !== undefined ? { file: cronFile, schedule: n.schedule } : undefined,
                }),
            ),
            delete: renderBackupRemoveScript({ stateDir: n.stateDir, cronFile }),
            stdin: env,
        },
        { parent },
    );
    return {
        passphrase,
        backupScript: paths.backupScript,
        restoreScript: paths.restoreScript,
        statusFile: paths.statusFile,
        cronFile,
        install,
    };
}

/**
 * A backup taken before the container is replaced: a host command that runs `backup.sh --before-change`
 * whenever an input that replaces the container changes (a new version or image, new settings, networks,
 * environment), which the new container waits for. `replacing` are those inputs; their hash is the trigger.
 */
export function createBackupBeforeChange(
    parent: pulumi.Resource,
    t: BackupTarget,
    parts: BackupParts,
    imageId: pulumi.Input<string>,
    replacing: pulumi.Input<Record<string, unknown>>,
): pulumi.CustomResource {
    // A secret: the inputs carry the passwords (a hash of them is still theirs to keep).
    const digest = pulumi.secret(
        pulumi.output(replacing).apply((v: unknown) => createHash("sha256").update(JSON.stringify(v)).digest("hex")),
    );
    return t.host.command(
        `${t.name}-backup-before-change`,
        {
            create: `bash '${parts.backupScript}' --before-change`,
            triggers: [imageId, digest],
        },
        { parent, dependsOn: [parts.install] },
    );
}
