// Scheduled jobs and backups on an attached host (Host.fromStack): the same host files, cron entries,
// scripts and containers as on the host's own stack, so they run there as they would on an owned host
// (test/e2e/cli-releases.test.ts and test/e2e/backup.test.ts run them for real on an owned one).
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { evaluate, fakeOutputs, Graph, RecordedResource } from "../../sandbox/harness";
import { App, Host, HostExport, Postgres } from "../../lib";
import { appDir } from "../support/fixtures";

const SCHEDULES = {
    "clear-sessions": { cron: "0 3 * * *", command: "python manage.py clearsessions" },
    tick: { cron: "* * * * *", command: "date >> /data/ticks" },
};
const HOST_ARGS = { local: true, dataDir: "/srv/dy" } as const;

/** The app with jobs and the database with backups every stack here deploys, on `host`. */
function components(host: Host, dir: string): void {
    const db = new Postgres("db", { host, backup: { schedule: "15 2 * * *" } });
    new App("web", { host, build: dir, link: [db], volumes: { data: "/data" }, schedules: SCHEDULES });
}

/** What the App and the Postgres put on the host: every custom resource under them, by type and name. */
function onHost(g: Graph): Map<string, RecordedResource> {
    const under = [...g.customResourcesUnder("dropyard:index:App::web"), ...g.customResourcesUnder(DB)];
    return new Map(under.map(r => [`${r.type}::${r.name}`, r]));
}
const DB = "dropyard:index:Postgres::db";

test("an App's schedules and a Postgres's backup on an attached host render what they do on the owned host", async () => {
    const dir = appDir({ Procfile: "web: gunicorn app:app\n" });
    const owned = await evaluate(() => components(new Host("box", HOST_ARGS), dir));
    const exported = (await evaluate(() => ({ host: new Host("box", HOST_ARGS).exported }))).outputs.host as HostExport;
    const attached = await evaluate(async () => components(await Host.fromStack("shared", "acme/infra/prod"), dir), {
        outputs: a =>
            a.type === "pulumi:pulumi:StackReference"
                ? { name: a.inputs.name, outputs: { host: exported }, secretOutputNames: [] }
                : fakeOutputs(a),
    });
    const mine = onHost(owned);
    const theirs = onHost(attached);
    assert.deepEqual([...theirs.keys()].sort(), [...mine.keys()].sort());
    // The parts that schedule and back up: present, so the comparison below covers them.
    for (const step of ["web-schedules", "db-backup"])
        assert.ok(mine.has(`command:local:Command::${step}`), `no ${step} in ${[...mine.keys()].join(", ")}`);
    for (const [key, r] of mine) assert.deepEqual(theirs.get(key)!.inputs, r.inputs, key);
    assert.match(
        mine.get("command:local:Command::web-schedules")!.inputs.create as string,
        /\/srv\/dy\/schedules\/web/,
    );
    assert.match(mine.get("command:local:Command::db-backup")!.inputs.create as string, /\/srv\/dy\/backups\/db/);
});
