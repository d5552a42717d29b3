// `dropyard releases` and `dropyard rollback`. A built App's releases are the tags
// `dropyard/<host>-<app>:release-<n>` its releases step leaves on the host (lib/render/releases.ts);
// rollback pins one in the stack's config and runs `pulumi up`, so the same zero-downtime deploy
// step switches over and the next `pulumi up` keeps the pin: docs/architecture.md#releases-and-rollback.
import { LABEL } from "../labels";
import { CliError } from "./errors";
import { isNotFound } from "./docker";
import { Context, findApp, table } from "./commands";
import { AppInfo } from "./state";

/** The stack config key that pins Apps to releases (lib/app/spec.ts reads it). */
export const PIN_KEY = "dropyard:releases";

export interface ReleaseInfo {
    release: number;
    /** The image id, `sha256:…`. */
    image: string;
    /** When the image was built (ISO 8601). */
    built: string;
    /** The last git commit of the build directory, when it was in a repository. */
    commit?: string;
    /** Whether the app's containers run it now. */
    live: boolean;
}

export interface ReleasesResult {
    app: string;
    host: string;
    /** The release the stack's config pins, if any. */
    pinned?: number;
    /** The release the containers run, if it is a kept one. */
    live?: number;
    /** Newest first. */
    releases: ReleaseInfo[];
}

/** The app's image repository; an error for a pulled app, which has no releases. */
function repoOf(app: AppInfo): string {
    if (app.repo !== undefined) return app.repo;
    if (app.pulled !== undefined) {
        throw new CliError(
            `app "${app.name}" runs the pulled image ${app.pulled} and has no releases; roll it back by changing its image argument`,
        );
    }
    throw new CliError(`app "${app.name}" has no image in the state; run \`pulumi up\` first`);
}

/** Image ids the app's containers run now (the running ones). */
async function runningImages(ctx: Context, app: AppInfo): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const c of app.containers) {
        try {
            const i = await ctx
                .docker(c.host)
                .getContainer(c.id ?? c.name)
                .inspect();
            if (i.State.Running) ids.add(i.Image);
        } catch (e) {
            if (!isNotFound(e)) throw e;
        }
    }
    return ids;
}

/** The app's kept releases on its host, newest first, and which one is live. */
export async function listReleases(ctx: Context, app: AppInfo): Promise<ReleasesResult> {
    const repo = repoOf(app);
    const docker = ctx.docker(app.host);
    const [images, running] = await Promise.all([
        docker.listImages({ filters: { reference: [`${repo}:release-*`] } }),
        runningImages(ctx, app),
    ]);
    const releases: ReleaseInfo[] = [];
    for (const image of images) {
        for (const tag of image.RepoTags ?? []) {
            const m = /:release-([1-9][0-9]*)$/.exec(tag);
            if (!m || tag.slice(0, tag.lastIndexOf(":")) !== repo) continue;
            releases.push({
                release: Number(m[1]),
                image: image.Id,
                built: new Date(image.Created * 1000).toISOString(),
                commit: image.Labels?.[LABEL.commit] || undefined,
                live: running.has(image.Id),
            });
        }
    }
    releases.sort((a, b) => b.release - a.release);
    const live = releases.find(r => r.live)?.release;
    return { app: app.name, host: app.host, pinned: app.pinned, live, releases };
}

function renderReleases(r: ReleasesResult): string {
    if (r.releases.length === 0)
        return `app ${r.app} has no kept releases on host ${r.host} yet (its next deploy makes one)`;
    const rows = [["RELEASE", "IMAGE", "BUILT", "COMMIT", ""]];
    for (const x of r.releases) {
        const marks = [x.live ? "live" : "", r.pinned === x.release ? "pinned" : ""].filter(Boolean).join(", ");
        rows.push([
            `v${x.release}`,
            x.image.replace(/^sha256:/, "").slice(0, 12),
            x.built.replace(/\.\d+Z$/, "Z"),
            x.commit?.slice(0, 12) ?? "-",
            marks,
        ]);
    }
    const pin =
        r.pinned !== undefined
            ? `pinned to v${r.pinned} by the stack config ${PIN_KEY}; \`dropyard rollback ${r.app} --unpin\` deploys the code again`
            : "not pinned: `pulumi up` deploys the code";
    return [table(rows), pin].join("\n");
}

export async function releases(ctx: Context, appName: string): Promise<ReleasesResult> {
    const r = await listReleases(ctx, findApp(ctx.model, appName));
    ctx.out(ctx.json ? JSON.stringify(r, null, 2) : renderReleases(r));
    return r;
}

/** `dropyard:releases["<app>"]`: the config path `pulumi config set --path` takes for the app's pin. */
export function pinPath(app: string): string {
    return `${PIN_KEY}["${app}"]`;
}

export interface RollbackOptions {
    /** The release to go back to; the one before the live one when absent. */
    release?: string;
    /** Remove the pin instead, so `pulumi up` deploys the code again. */
    unpin?: boolean;
}

/**
 * Pins the app to a kept release in the stack's config and runs `pulumi up`: the App runs that
 * release's image (no build) through the same deploy step. With `unpin`, removes the pin and runs
 * `pulumi up`. Returns the exit status.
 */
export async function rollback(ctx: Context, appName: string, opts: RollbackOptions): Promise<number> {
    const app = findApp(ctx.model, appName);
    repoOf(app);
    const pulumi = ctx.pulumi;
    if (!pulumi) {
        throw new CliError(
            "rollback sets the stack's config and runs `pulumi up`, which --state cannot do: run it in the stack's directory without --state",
        );
    }
    if (opts.unpin) {
        if (opts.release !== undefined) throw new CliError("rollback: give a release or --unpin, not both");
        if (app.pinned === undefined)
            throw new CliError(`app "${app.name}" is not pinned to a release; \`pulumi up\` already deploys its code`);
        ctx.progress(`unpinning ${app.name} (it runs v${app.pinned}) and deploying its code: pulumi up`);
        return await deploy(ctx, pulumi, ["config", "rm", "--path", pinPath(app.name)], app.name, undefined);
    }
    const r = await listReleases(ctx, app);
    const valid = r.releases.map(x => `v${x.release}`).join(", ") || "none";
    let target: number;
    if (opts.release !== undefined) {
        const m = /^v?([1-9][0-9]*)$/.exec(opts.release);
        target = m ? Number(m[1]) : NaN;
        if (!r.releases.some(x => x.release === target)) {
            throw new CliError(`app "${app.name}" has no kept release "${opts.release}"; its releases are: ${valid}`);
        }
    } else {
        const before = r.live === undefined ? undefined : r.releases.find(x => x.release < r.live!);
        if (!before) {
            throw new CliError(
                `app "${app.name}" has no release before the live one (${r.live === undefined ? "none is live" : `v${r.live}`}); its releases are: ${valid}`,
            );
        }
        target = before.release;
    }
    if (r.live === target && r.pinned === target) {
        ctx.out(
            ctx.json
                ? JSON.stringify({ app: app.name, release: target, pinned: true, changed: false })
                : `${app.name}: v${target} is live and pinned already`,
        );
        return 0;
    }
    ctx.progress(
        `rolling ${app.name} back to v${target} (live: ${r.live === undefined ? "none" : `v${r.live}`}): pinning it in the stack's config, then pulumi up`,
    );
    return await deploy(ctx, pulumi, ["config", "set", "--path", pinPath(app.name), String(target)], app.name, target);
}

async function deploy(
    ctx: Context,
    pulumi: NonNullable<Context["pulumi"]>,
    config: string[],
    app: string,
    target: number | undefined,
): Promise<number> {
    const set = await pulumi(config);
    if (set !== 0) throw new CliError(`pulumi ${config.join(" ")} failed (exit ${set}); nothing was deployed`);
    const up = await pulumi(["up", "--yes", "--skip-preview"]);
    if (up !== 0) {
        const state = target === undefined ? "the pin is removed" : `the stack's config pins v${target}`;
        ctx.progress(
            `pulumi up failed (exit ${up}); ${state}, and the previous containers keep serving where the deploy step did not pass`,
        );
        return up;
    }
    ctx.out(
        ctx.json
            ? JSON.stringify({ app, release: target ?? null, pinned: target !== undefined, changed: true })
            : target === undefined
              ? `${app}: unpinned; its code is deployed`
              : `${app}: v${target} is live, pinned in the stack config (${pinPath(app)}); \`dropyard rollback ${app} --unpin\` deploys the code again`,
    );
    return 0;
}
