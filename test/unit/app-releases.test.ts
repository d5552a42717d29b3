// Releases of a built App: the releases step after each deploy, the git commit label on the image,
// and the stack config that pins a release (what `dropyard rollback` sets): the App then runs that
// release's tag and builds nothing. Bad values are ConfigErrors naming the field.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { evaluate, Graph, RecordedResource } from "../../sandbox/harness";
import { rejectsBeforeCreating } from "../support/helpers";
import { App, AppArgs } from "../../lib";
import { ConfigError } from "../../lib/errors";
import { RELEASES_LIVE_IMAGE, renderReleasesRemoveScript, renderReleasesScript } from "../../lib/render/releases";
import { appDir, localHost } from "../support/fixtures";
import { CONTAINER, IMAGE, LOCAL_COMMAND, REMOTE_IMAGE } from "../support/types";

const webDir = () => appDir({ Procfile: "web: python -m http.server $PORT\n" });

function app(extra: Partial<AppArgs> = {}, config: Record<string, string> = {}, dir = webDir()): Promise<Graph> {
    return evaluate(
        () => {
            const host = localHost();
            new App("counter", { host, ...(extra.image ? {} : { build: dir }), ...extra });
        },
        { config },
    );
}

const mine = (g: Graph, type: string): RecordedResource[] =>
    g.customResourcesUnder("dropyard:index:App::counter").filter(r => r.type === type);

test("the releases step numbers the image the new containers run, after they run, keeping 5 by default", async () => {
    const g = await app({ replicas: 2 });
    const step = g.one(LOCAL_COMMAND, "counter-releases");
    const digest = g.one(IMAGE).outputs.repoDigest;
    assert.equal(step.inputs.create, renderReleasesScript({ app: "counter", repo: "dropyard/box-counter", keep: 5 }));
    assert.equal(step.inputs.environment[RELEASES_LIVE_IMAGE], digest);
    // Rerun by its environment, never replaced: a replacement would run the delete, which drops every release.
    assert.equal(step.inputs.triggers, undefined);
    assert.equal(step.inputs.delete, renderReleasesRemoveScript("dropyard/box-counter"));
    for (const c of mine(g, CONTAINER)) assert.ok(g.waitsFor(step, c), `the releases step does not wait for ${c.name}`);
    assert.match(step.inputs.create, /awk -v keep=5 /);
    assert.equal(
        mine(g, LOCAL_COMMAND).some(c => c.name === "counter-prune"),
        false,
    );
});

test("keepReleases sets how many releases keep their image", async () => {
    const g = await app({ keepReleases: 2 });
    assert.match(g.one(LOCAL_COMMAND, "counter-releases").inputs.create, /awk -v keep=2 'NR > keep/);
});

test("a pulled image has no releases step", async () => {
    const g = await app({ image: "wordpress:6.8-php8.4-apache" });
    assert.equal(
        mine(g, LOCAL_COMMAND).some(c => c.name === "counter-releases"),
        false,
    );
});

/** The Dockerfile the build uses (dropyard's labelled copy). */
function dockerfileOf(g: Graph): string {
    return fs.readFileSync(g.one(IMAGE).inputs.build.dockerfile, "utf8");
}

test("the image carries the last commit of the build directory when it is in a git repository, and none otherwise", async () => {
    const dir = webDir();
    assert.match(dockerfileOf(await app({}, {}, dir)), /\nLABEL dev\.dropyard\.app="counter"\n$/);
    const git = (...args: string[]) =>
        execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
            cwd: dir,
            encoding: "utf8",
        }).trim();
    git("init", "-q");
    git("add", ".");
    git("commit", "-qm", "app");
    const first = git("rev-parse", "HEAD");
    assert.match(
        dockerfileOf(await app({}, {}, dir)),
        new RegExp(`\\nLABEL dev\\.dropyard\\.app="counter" dev\\.dropyard\\.commit="${first}"\\n$`),
    );
    // A commit that does not touch the build directory changes nothing.
    fs.mkdirSync(path.join(dir, "..", path.basename(dir) + "-x"), { recursive: true });
    git("commit", "-q", "--allow-empty", "-m", "elsewhere");
    assert.match(dockerfileOf(await app({}, {}, dir)), new RegExp(`dev\\.dropyard\\.commit="${first}"`));
    fs.rmSync(path.join(dir, "..", path.basename(dir) + "-x"), { recursive: true });
});

test("a release pinned in the stack config runs that release's tag and builds nothing", async () => {
    const g = await app({}, { "dropyard:releases": JSON.stringify({ counter: 2, other: 7 }) });
    assert.deepEqual(mine(g, IMAGE), []);
    const pinned = g.one(REMOTE_IMAGE, "counter-image");
    assert.deepEqual(pinned.inputs, { name: "dropyard/box-counter:release-2", keepLocally: true });
    for (const c of mine(g, CONTAINER)) assert.equal(c.inputs.image, pinned.outputs.imageId);
    // The releases step still runs (it trims the kept releases), on the pinned image.
    assert.equal(
        g.one(LOCAL_COMMAND, "counter-releases").inputs.environment[RELEASES_LIVE_IMAGE],
        pinned.outputs.imageId,
    );
    // As `pulumi config set --path` may store it: a string.
    const s = await app({}, { "dropyard:releases": JSON.stringify({ counter: "3" }) });
    assert.equal(s.one(REMOTE_IMAGE, "counter-image").inputs.name, "dropyard/box-counter:release-3");
    // Another app's pin does not touch this one.
    const other = await app({}, { "dropyard:releases": JSON.stringify({ other: 1 }) });
    assert.equal(mine(other, REMOTE_IMAGE).length, 0);
    assert.equal(mine(other, IMAGE).length, 1);
});

test("a pinned release does not run the release step again: it ran when that release was first deployed", async () => {
    const dir = appDir({ Procfile: "web: python -m http.server $PORT\nrelease: python migrate.py\n" });
    const steps = (g: Graph) => mine(g, LOCAL_COMMAND).map(c => c.name);
    assert.ok(steps(await app({}, {}, dir)).includes("counter-release"), "a deploy of code runs the release step");
    const pinned = await app({}, { "dropyard:releases": JSON.stringify({ counter: 2 }) }, dir);
    assert.ok(!steps(pinned).includes("counter-release"), `a rollback runs ${steps(pinned).join(", ")}`);
    // What runs the release still deploys and numbers it (the releases step finds its number).
    assert.ok(steps(pinned).includes("counter-deploy") && steps(pinned).includes("counter-releases"));
});

/** The ConfigError the App throws with this stack config (and nothing registered under it). */
async function pinError(config: Record<string, string>, extra: Partial<AppArgs> = {}): Promise<string> {
    let message = "";
    const g = await evaluate(
        () => {
            const host = localHost();
            assert.throws(
                () => new App("counter", { host, ...(extra.image ? {} : { build: webDir() }), ...extra }),
                (e: unknown) => {
                    assert.ok(e instanceof ConfigError, String(e));
                    message = e.message;
                    return true;
                },
            );
        },
        { config },
    );
    assert.equal(g.byKey.has("dropyard:index:App::counter"), false);
    return message;
}

test("a pin that is not a release number, or on a pulled image, is a ConfigError naming the config key", async () => {
    assert.equal(
        await pinError({ "dropyard:releases": JSON.stringify({ counter: "latest" }) }),
        'App "counter": config dropyard:releases.counter "latest" is not a release number; give a release `dropyard releases counter` lists, or remove the pin with `dropyard rollback counter --unpin`',
    );
    assert.equal(
        await pinError({ "dropyard:releases": JSON.stringify({ counter: 0 }) }),
        'App "counter": config dropyard:releases.counter 0 is not a release number; give a release `dropyard releases counter` lists, or remove the pin with `dropyard rollback counter --unpin`',
    );
    assert.equal(
        await pinError({ "dropyard:releases": "[1]" }),
        'App "counter": config dropyard:releases is not an object of App names and release numbers; set it with `pulumi config set --path \'dropyard:releases["counter"]\' <release>`',
    );
    assert.equal(
        await pinError({ "dropyard:releases": JSON.stringify({ counter: 1 }) }, { image: "nginx:1.30" }),
        'App "counter": config dropyard:releases.counter pins a release, but the app pulls an image and has none; roll back by changing its image argument; remove the pin',
    );
});

test("keepReleases below 1, or on a pulled image, is a ConfigError", async () => {
    await rejectsBeforeCreating(
        "App",
        "counter",
        () => new App("counter", { host: localHost(), build: webDir(), keepReleases: 0 }),
        'App "counter": keepReleases 0 is out of range (1 to 100); use a whole number from 1 to 100',
    );
    await rejectsBeforeCreating(
        "App",
        "counter",
        () => new App("counter", { host: localHost(), image: "nginx:1.30", keepReleases: 3 }),
        'App "counter": keepReleases is set but the app pulls an image; only built apps have releases; drop keepReleases',
    );
});
