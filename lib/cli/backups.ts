// `dropyard backups <db> [list|capture|restore …]` and each database's last backup in `ps`. The
// backup scripts and status live on the host (lib/render/backup.ts: backup.sh, restore.sh,
// status.json); the command runs them there through the host's Docker API — a throwaway container of
// the edge's image with the host's root mounted, chroot into it — so it needs no SSH, as every other
// command. The scripts' own output goes to the terminal; they print no secret.
import { PassThrough } from "node:stream";
import type Docker from "dockerode";
import { LABEL } from "../labels";
import { backupPaths } from "../render/backup";
import { CliError } from "./errors";
import type { Context } from "./context";
import { DatabaseInfo } from "./state";

/** One destination's state in status.json. */
export interface DestinationStatus {
    lastSuccess: string | null;
    snapshot: string | null;
    bytes: number | null;
    lastFailure: string | null;
    lastError: string | null;
}

export interface BackupStatus {
    updated?: string;
    destinations: Record<string, DestinationStatus>;
}

/** An image every dropyard host has: its edge's (any image with `chroot` would do). */
async function hostImage(docker: Docker, host: string): Promise<string> {
    const edges = await docker.listContainers({ all: true, filters: { label: [`${LABEL.role}=edge`] } });
    const own = edges.find(e => e.Labels[LABEL.host] === host) ?? edges[0];
    if (!own)
        throw new CliError(
            `host "${host}" has no edge container to run the backup scripts with; run \`pulumi up\` first`,
        );
    return own.ImageID;
}

/**
 * Runs `argv` on the host itself (chroot into its root from a throwaway container) and returns its
 * exit status; its output goes to `stdout`/`stderr`.
 */
export async function onHost(
    ctx: Context,
    host: string,
    argv: string[],
    stdout: NodeJS.WritableStream,
    stderr: NodeJS.WritableStream,
): Promise<number> {
    const docker = ctx.docker(host);
    const c = await docker.createContainer({
        Image: await hostImage(docker, host),
        Entrypoint: ["chroot", "/host"],
        Cmd: argv,
        Labels: { [LABEL.role]: "host-exec" },
        AttachStdout: true,
        AttachStderr: true,
        HostConfig: { Binds: ["/:/host"], NetworkMode: "host" },
    });
    try {
        const stream = await c.attach({ stream: true, stdout: true, stderr: true });
        const ended = new Promise(r => {
            stream.on("end", r);
            stream.on("close", r);
        });
        docker.modem.demuxStream(stream, stdout, stderr);
        await c.start();
        const { StatusCode } = (await c.wait()) as { StatusCode: number };
        await Promise.race([ended, new Promise(r => setTimeout(r, 2000))]);
        return StatusCode;
    } finally {
        await c.remove({ force: true }).catch(() => undefined);
    }
}

/** A file's text on the host, or undefined when it is not there. */
async function readOnHost(ctx: Context, host: string, file: string): Promise<string | undefined> {
    const out = new PassThrough();
    let text = "";
    out.on("data", d => {
        text += d;
    });
    const code = await onHost(ctx, host, ["cat", file], out, new PassThrough());
    return code === 0 ? text : undefined;
}

/** The database's backup status from the host: undefined without `backup`, `{}` destinations before the first run. */
export async function backupStatus(ctx: Context, db: DatabaseInfo): Promise<BackupStatus | undefined> {
    if (db.backupDir === undefined) return undefined;
    const text = await readOnHost(ctx, db.host, backupPaths(db.backupDir).statusFile);
    if (text === undefined) return { destinations: {} };
    try {
        const s = JSON.parse(text) as { updated?: string; destinations?: Record<string, DestinationStatus> };
        return { updated: s.updated, destinations: s.destinations ?? {} };
    } catch {
        throw new CliError(`${backupPaths(db.backupDir).statusFile} on host "${db.host}" is not JSON`);
    }
}

export const BACKUP_ACTIONS = ["list", "capture", "restore", "status"] as const;

/**
 * `dropyard backups <db> [action] [args…]`: `status` (the default) prints the last success and failure
 * per destination; `list` the snapshots (`restore.sh --list`); `capture` takes one now (`backup.sh`);
 * `restore [--from D] [--snapshot ID] [--into C] [--database N] [--force]` runs `restore.sh`.
 * Returns the exit status.
 */
export async function backups(
    ctx: Context,
    dbName: string,
    action: string | undefined,
    args: string[],
): Promise<number> {
    const db = ctx.model.databases.find(d => d.name === dbName);
    if (!db) {
        throw new CliError(
            `unknown database "${dbName}"; the databases of stack ${ctx.model.stack} are: ${ctx.model.databases.map(d => d.name).join(", ") || "none"}`,
        );
    }
    if (db.backupDir === undefined)
        throw new CliError(
            `database "${db.name}" has no backup; give it \`backup: true\` (or a BackupArgs) and run \`pulumi up\``,
        );
    const act = action ?? "status";
    if (!(BACKUP_ACTIONS as readonly string[]).includes(act)) {
        throw new CliError(`backups: unknown action "${act}"; the actions are: ${BACKUP_ACTIONS.join(", ")}`);
    }
    const paths = backupPaths(db.backupDir);
    if (act === "status") {
        if (args.length > 0) throw new CliError(`backups status takes no arguments, got "${args[0]}"`);
        const s = (await backupStatus(ctx, db))!;
        if (ctx.json) ctx.out(JSON.stringify({ database: db.name, ...s }, null, 2));
        else ctx.out(renderStatus(db.name, s));
        return 0;
    }
    if (act === "capture" && args.length > 0)
        throw new CliError(`backups capture takes no arguments, got "${args[0]}"`);
    const argv =
        act === "capture"
            ? [paths.backupScript]
            : act === "list"
              ? [paths.restoreScript, "--list", ...args]
              : [paths.restoreScript, ...args];
    ctx.progress(
        `${act === "capture" ? "taking a backup of" : act === "list" ? "listing the snapshots of" : "restoring"} ${db.name} on host "${db.host}": ${argv.join(" ")}`,
    );
    return onHost(ctx, db.host, argv, ctx.io.stdout, ctx.io.stderr);
}

function renderStatus(name: string, s: BackupStatus): string {
    const entries = Object.entries(s.destinations);
    if (entries.length === 0) return `${name}: no backup has run yet`;
    const rows = entries.map(
        ([d, x]) =>
            `${name} ${d}: last success ${x.lastSuccess ?? "never"}${x.snapshot ? ` (snapshot ${x.snapshot})` : ""}; ` +
            `last failure ${x.lastFailure ?? "never"}${x.lastError ? `: ${x.lastError}` : ""}`,
    );
    return rows.join("\n");
}
