// Releases and rollback on the real engine (fixtures/day-app, host "day-host", edge on 127.0.0.1:18280):
// three deploys of different code, each a release carrying its git commit and running the release step,
// the oldest pruned beyond keepReleases; then `dropyard rollback` under load (the sandbox's stand-in for
// the Pulumi CLI, sandbox/bin/pulumi, as DROPYARD_PULUMI): the previous release serves again with no
// failed request, no build and no release step, and the next `up` keeps the pin until `rollback --unpin`.
// Last, a job scheduled every minute (App.schedules) run by the host's cron (Debian's, installed and
// started when missing): it writes to the app's volume, never overlaps itself, and `dropyard ps` and
// `logs -p` show its last run.
// Traffic goes to loopback only.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ensureHey, HeyResult, startHey } from "../../bench/hey";
import { down, up } from "../../sandbox";
import { prepareEngine } from "../../sandbox/prepare";
import { docker } from "../support/docker";
import { until } from "../support/until";
import { fetchVia } from "../../sandbox/lib/http";
import { dropyardIn, startDropyard } from "./support/dropyard";

const FIXTURE = join(__dirname, "fixtures", "day-app");
const STACK = "e2e";
const PORT = 18280;
const HOST = "day.localhost";
const REPOSITORY = "dropyard/day-host-day-web";

const work = mkdtempSync(join(tmpdir(), "dropyard-releases-e2e-"));
const dir = join(work, "stack");

/** `dropyard <args> --stack e2e` in the stack's directory. */
const dropyard = (...args: string[]) => dropyardIn(dir, [...args, "--stack", STACK]);

async function get(): Promise<string> {
    const r = await fetchVia({ host: HOST, scheme: "http", port: PORT });
    if (r.status !== 200) throw new Error(`GET: ${r.status} ${r.body}`);
    return r.body.trim();
}

/** The edge answers `version=<v>` (a reload may take a moment to reach every nginx worker). */
async function serves(v: number): Promise<void> {
    let body = "";
    for (let i = 0; i < 25 && body !== `version=${v}`; i++)
        body = (await get().catch(() => "")) || (await sleep(200).then(() => ""));
    assert.equal(body, `version=${v}`);
}

/** Image ids of the app's repository on the engine (what a build would add to). */
async function imageIds(): Promise<string[]> {
    return [
        ...new Set(
            (await docker("image", "ls", REPOSITORY, "--no-trunc", "--format", "{{.ID}}")).split("\n").filter(Boolean),
        ),
    ].sort();
}

/** The release-step containers the engine created for the app since `since` (ms), from its event log. */
async function releaseSteps(since: number): Promise<number> {
    const events = await docker(
        "events",
        ...["--since", String(Math.floor(since / 1000)), "--until", String(Math.ceil(Date.now() / 1000))],
        ...["--filter", "type=container", "--filter", "event=create"],
        ...["--filter", "label=dev.dropyard.app=day-web", "--filter", "label=dev.dropyard.process=release"],
        ...["--format", "{{.Actor.ID}}"],
    );
    return events.split("\n").filter(Boolean).length;
}

const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=e2e", "-c", "user.email=e2e@example.com", ...args], {
        cwd: dir,
        encoding: "utf8",
    }).trim();

/** A new VERSION of the app, committed. Returns the commit. */
function release(v: number): string {
    writeFileSync(join(dir, "app", "VERSION"), `${v}\n`);
    git("add", "-A");
    git("commit", "-qm", `version ${v}`);
    return git("rev-parse", "HEAD");
}

interface Release {
    release: number;
    image: string;
    built: string;
    commit?: string;
    live: boolean;
}

describe("dropyard releases and rollback (fixtures/day-app)", () => {
    const commits: Record<number, string> = {};

    before(async () => {
        await prepareEngine(["python:3.13-slim", "nginx:1.30"]);
        ensureHey();
        cpSync(FIXTURE, dir, { recursive: true });
        writeFileSync(
            join(dir, `Pulumi.${STACK}.yaml`),
            `config:\n  day-app:dataDir: ${join(work, "host-data")}\n  day-app:keepReleases: 2\n`,
        );
        git("init", "-q");
        await down(dir, { stack: STACK, purge: true, log: false });
        // Release tags an interrupted run of this file left (the App's delete removes them otherwise).
        for (const tag of (await docker("image", "ls", REPOSITORY, "--format", "{{.Tag}}"))
            .split("\n")
            .filter(Boolean)) {
            await docker("image", "rm", "-f", `${REPOSITORY}:${tag}`);
        }
    });
    after(async () => {
        await down(dir, { stack: STACK, purge: true, log: false });
        rmSync(work, { recursive: true, force: true });
        // The App's delete took its release tags with it.
        assert.deepEqual(
            (await docker("image", "ls", REPOSITORY, "--format", "{{.Tag}}"))
                .split("\n")
                .filter(t => t.startsWith("release-")),
            [],
        );
    });

    test("each deploy of new code is a release with its build time and commit; beyond keepReleases the oldest goes", async () => {
        const deploys = Date.now();
        for (const v of [1, 2, 3]) {
            commits[v] = release(v);
            await up(dir, { stack: STACK, log: false });
            await serves(v);
        }
        assert.equal(await releaseSteps(deploys), 3, "each deploy of new code runs the release step");
        const r = await dropyard("releases", "day-web", "--json");
        assert.equal(r.status, 0, r.stderr);
        const out = JSON.parse(r.stdout) as { live: number; pinned?: number; releases: Release[] };
        assert.deepEqual(
            out.releases.map(x => [x.release, x.commit, x.live]),
            [
                [3, commits[3], true],
                [2, commits[2], false],
            ],
        );
        assert.equal(out.live, 3);
        assert.equal(out.pinned, undefined);
        for (const x of out.releases) {
            assert.equal(
                x.image,
                await docker("image", "inspect", "-f", "{{.Id}}", `${REPOSITORY}:release-${x.release}`),
            );
            assert.ok(Math.abs(Date.parse(x.built) - Date.now()) < 10 * 60_000, x.built);
        }
        // Release 1 is gone from the engine: its tag, and its image (no container used it any more).
        assert.equal(
            (await docker("image", "ls", REPOSITORY, "--format", "{{.Tag}}")).split("\n").includes("release-1"),
            false,
        );
        const table = await dropyard("releases", "day-web");
        assert.match(table.stdout, new RegExp(`^v3 +[0-9a-f]{12} +\\S+Z +${commits[3].slice(0, 12)} +live$`, "m"));
        assert.match(table.stdout, /not pinned/);
    });

    test("rollback serves the previous release under load without a failed request and without a build; the next up keeps the pin", async () => {
        const images = await imageIds();
        const runs = [true, false].map(keepAlive =>
            startHey({
                url: `http://127.0.0.1:${PORT}/`,
                host: HOST,
                concurrency: 2,
                qps: 15,
                keepAlive,
                seconds: 300,
                timeout: 10,
            }),
        );
        await sleep(2000);
        const rolled = Date.now();
        const r = await dropyard("rollback", "day-web");
        await sleep(2000);
        const load: HeyResult[] = [];
        for (const run of runs) load.push(await run.stop());
        const report = load
            .map(
                l =>
                    `${l.total} requests, ${l.failed} failed, ${JSON.stringify(l.statuses)} ${JSON.stringify(l.errors)}`,
            )
            .join("; ");
        assert.equal(r.status, 0, r.stderr.slice(-3000));
        assert.match(r.stdout, /^day-web: v2 is live, pinned in the stack config \(dropyard:releases\["day-web"\]\)/);
        assert.equal(
            load.reduce((a, l) => a + l.failed, 0),
            0,
            report,
        );
        assert.ok(load.reduce((a, l) => a + l.total, 0) >= 100, report);
        await serves(2);
        assert.deepEqual(await imageIds(), images, "rollback built an image");
        assert.match(readFileSync(join(dir, `Pulumi.${STACK}.yaml`), "utf8"), /dropyard:releases:\n {4}day-web: "2"\n/);
        const listed = JSON.parse((await dropyard("releases", "day-web", "--json")).stdout);
        assert.equal(listed.live, 2);
        assert.equal(listed.pinned, 2);

        // New code, then `up` (as `pulumi up` would run): the pin holds, nothing is built or changed.
        commits[4] = release(4);
        const again = await up(dir, { stack: STACK, log: false });
        assert.deepEqual(
            again.resources.filter(x => x.action !== "same").map(x => `${x.name}:${x.action}`),
            [],
        );
        await serves(2);
        assert.deepEqual(await imageIds(), images);
        assert.equal(await releaseSteps(rolled), 0, "the rollback (or the up after it) ran the release step");
    });

    test("rollback --unpin deploys the code again; a release that is not kept is an error listing the kept ones", async () => {
        const bad = await dropyard("rollback", "day-web", "v1");
        assert.equal(bad.status, 1);
        assert.match(bad.stderr, /\ndropyard: app "day-web" has no kept release "v1"; its releases are: v3, v2\n$/);
        // `logs -f` started before the deploy follows the container that replaces the one it began with.
        const follow = startDropyard(dir, ["logs", "day-web", "-f", "-n", "0", "--stack", STACK]);
        let followed = "";
        follow.stdout.on("data", c => {
            followed += c;
        });
        try {
            await sleep(4000);
            const unpinned = Date.now();
            const r = await dropyard("rollback", "day-web", "--unpin");
            assert.equal(r.status, 0, r.stderr.slice(-3000));
            assert.equal(await releaseSteps(unpinned), 1, "new code after the pin runs the release step");
            assert.equal(r.stdout, "day-web: unpinned; its code is deployed\n");
            await serves(4);
            const web = await docker(
                "ps",
                "--filter",
                "label=dev.dropyard.app=day-web",
                "--filter",
                "label=dev.dropyard.process=web",
                "--format",
                "{{.Names}}",
            );
            const marker = `/probe-${Date.now()}`;
            await fetchVia({ host: HOST, scheme: "http", port: PORT, path: marker });
            await until("the new container's request in logs -f", 5, () => followed.includes(marker), 100).catch(() =>
                assert.fail(`not followed: ${followed.slice(-1500)}`),
            );
            assert.match(followed, new RegExp(`^\\S+ web\\[${web}\\]: .*GET ${marker}`, "m"));
        } finally {
            follow.kill();
        }
        const listed = JSON.parse((await dropyard("releases", "day-web", "--json")).stdout);
        assert.equal(listed.live, 4);
        assert.equal(listed.pinned, undefined);
        assert.equal(listed.releases[0].commit, commits[4]);
        assert.doesNotMatch(readFileSync(join(dir, `Pulumi.${STACK}.yaml`), "utf8"), /dropyard:releases/);
    });

    test("a job every minute runs in a one-off container of the release, never twice at once; ps and logs show its last run", async () => {
        const cronStarted = ensureCron();
        try {
            appendFileSync(join(dir, `Pulumi.${STACK}.yaml`), "  day-app:schedule: true\n  day-app:tickSeconds: 20\n");
            await up(dir, { stack: STACK, log: false });
            const stateDir = join(work, "host-data", "schedules", "day-web");
            const status = join(stateDir, "tick.status.json");
            // cron starts it at the next minute; it runs 20 s.
            await until(
                "the job's first run to start",
                75,
                async () =>
                    (await docker("ps", "-a", "--filter", "name=^day-web-tick-run$", "--format", "{{.State}}")) ===
                    "running",
                500,
            );
            const ps = JSON.parse((await dropyard("ps", "day-web", "--json")).stdout);
            assert.equal(ps.apps[0].schedules[0].lastRun.running, true);
            // Run by hand while cron's run goes on (what cron does a minute later): skipped, nothing started.
            const again = spawnSync("bash", [join(stateDir, "tick.sh")], { encoding: "utf8" });
            assert.equal(again.status, 0, again.stderr);
            assert.match(again.stdout, /tick: the previous run is still going; this run is skipped/);
            assert.equal(existsSync(status), false, "the skipped run recorded a run");
            await until("the job's first run to finish", 40, async () => existsSync(status), 500);

            const recorded = JSON.parse(readFileSync(status, "utf8"));
            const live = await docker("image", "inspect", "-f", "{{.Id}}", `${REPOSITORY}:latest`);
            assert.deepEqual(
                [recorded.job, recorded.exitCode, recorded.image, recorded.container],
                ["tick", 0, live, "day-web-tick-run"],
            );
            // It wrote to the app's volume, which the web container sees.
            const ticks = (
                await docker(
                    "exec",
                    await docker(
                        "ps",
                        "--filter",
                        "label=dev.dropyard.app=day-web",
                        "--filter",
                        "label=dev.dropyard.process=web",
                        "--format",
                        "{{.Names}}",
                    ),
                    "cat",
                    "/data/ticks",
                )
            ).split("\n");
            assert.equal(ticks.length, 1);
            assert.match(ticks[0], /^tick \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
            const after = JSON.parse((await dropyard("ps", "day-web", "--json")).stdout).apps[0].schedules;
            type Job = { name: string; cron: string; lastRun: { exitCode: number; running: boolean } };
            assert.deepEqual(
                after.map((j: Job) => [j.name, j.cron, j.lastRun.exitCode, j.lastRun.running]),
                [["tick", "* * * * *", 0, false]],
            );
            const table = await dropyard("ps", "day-web");
            assert.match(table.stdout, /^day-web +tick +\* \* \* \* \* +\d{4}-\S+Z +succeeded$/m);
            const logs = await dropyard("logs", "day-web", "-p", "tick");
            assert.equal(logs.status, 0, logs.stderr);
            assert.match(logs.stdout, new RegExp(`^\\S+ tick\\[day-web-tick-run\\]: ${ticks[0]}$`, "m"));
        } finally {
            cronStarted?.kill();
        }
    });
});

/**
 * The host's cron daemon (Debian's `cron`), installed when missing and started when not running.
 * Returns a daemon this started (to stop it afterwards), else undefined. It runs in the foreground as this
 * process's child: a daemonized cron's pid file can still hold a stale pid when read right after it forks.
 */
function ensureCron(): ChildProcess | undefined {
    if (!existsSync("/usr/sbin/cron")) {
        const apt = (...args: string[]) =>
            spawnSync("apt-get", args, { stdio: "ignore", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } })
                .status;
        if (apt("install", "-y", "-q", "cron") !== 0) {
            apt("update", "-q");
            assert.equal(apt("install", "-y", "-q", "cron"), 0, "apt-get install cron failed");
        }
    }
    // Checked after the install: a package's scripts may have started one.
    if (spawnSync("pgrep", ["-x", "cron"]).status === 0) return undefined;
    return spawn("/usr/sbin/cron", ["-f"], { stdio: "ignore" });
}
