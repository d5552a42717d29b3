// An engine ready to deploy on, for the bench and the end-to-end tests: a daemon that answers (started
// by sandbox/engine/engine.sh when none does) and the stand-in images they name (sandbox/images/build.sh,
// cached by the hash of each recipe).
import { execFileSync, StdioOptions } from "node:child_process";
import { join } from "node:path";
import { Engine } from "./docker";
import { REPO_ROOT } from "./state";

/** The build.sh recipe of each stand-in image, by the tag it carries. */
export const STAND_INS: Readonly<Record<string, string>> = {
    "postgres:17": "postgres",
    "mariadb:11": "mariadb",
    "nginx:1.30": "nginx",
    "certbot/certbot:v4.0.0": "certbot",
    "wordpress:6.8-php8.4-apache": "wordpress",
    "python:3.13-slim": "python",
    "node:20-slim": "node",
    "dropyard-sandbox/pebble:2.6": "pebble",
    // Not stand-ins: the sandbox's machine (a droplet or server) and its registry mirror.
    "dropyard-sandbox/machine:trixie": "machine",
    "dropyard-sandbox/registry:2.8": "registry",
    // The older majors the database upgrade test starts from (bookworm's).
    "postgres:15": "postgres-15",
    "mariadb:10.11": "mariadb-10.11",
    "restic/restic:0.18.0": "restic",
};

export interface PrepareOptions {
    /** Run build.sh for every image named, so a changed recipe is rebuilt; else only for missing ones. */
    readonly rebuildStale?: boolean;
    /** Where engine.sh and build.sh write. @default "inherit" */
    readonly stdio?: StdioOptions;
}

/** Starts the engine when none answers; builds the stand-ins among `images` (tags) that it lacks. */
export async function prepareEngine(images: readonly string[], o: PrepareOptions = {}): Promise<Engine> {
    const stdio = o.stdio ?? "inherit";
    const engine = Engine.local();
    const answers = await engine.ping().then(
        () => true,
        () => false,
    );
    if (!answers) execFileSync("bash", [join(REPO_ROOT, "sandbox", "engine", "engine.sh"), "start"], { stdio });
    const unknown = images.filter(i => !STAND_INS[i]);
    if (unknown.length) throw new Error(`not stand-in images (sandbox/images): ${unknown.join(", ")}`);
    const wanted = o.rebuildStale ? images : await missingImages(engine, images);
    if (wanted.length)
        execFileSync("bash", [join(REPO_ROOT, "sandbox", "images", "build.sh"), ...wanted.map(i => STAND_INS[i])], {
            stdio,
        });
    return engine;
}

async function missingImages(engine: Engine, images: readonly string[]): Promise<string[]> {
    const missing: string[] = [];
    for (const i of images) if (!(await engine.imageInspect(i))) missing.push(i);
    return missing;
}
