// `dropyard backups` and the backup column of `dropyard ps` against a Postgres backed up to a directory
// on its (local) host (fixtures/cli-backup): the command runs the host's own backup.sh / restore.sh
// through the Docker API and reads status.json; a row deleted after a capture comes back on restore.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { down, up } from "../../sandbox";
import { prepareEngine } from "../../sandbox/prepare";
import { RESTIC_IMAGE } from "../../lib/database/backup";
import { docker, dockerResult } from "../support/docker";
import { dropyardIn } from "./support/dropyard";
import { REPO } from "./support/stack";

const FIXTURE = join(__dirname, "fixtures", "cli-backup");
const STACK = "e2e";
const work = mkdtempSync(join(tmpdir(), "dropyard-cli-backup-e2e-"));
const dir = join(work, "stack");

const dropyard = (...args: string[]) => dropyardIn(dir, args);

const sql = (q: string) =>
    docker("exec", "cb-pg", "sh", "-c", `psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -Atc "${q}"`);

describe("dropyard backups (fixtures/cli-backup)", () => {
    before(async () => {
        await prepareEngine(["postgres:17", "nginx:1.30"]);
        // restic's stand-in is not among prepareEngine's: built here when missing, as backup.test.ts does.
        if ((await dockerResult("image", "inspect", RESTIC_IMAGE)).status !== 0) {
            execFileSync(
                "flock",
                ["/tmp/dropyard-images.lock", "bash", join(REPO, "sandbox/images/build.sh"), "restic"],
                { stdio: "inherit" },
            );
        }
        cpSync(FIXTURE, dir, { recursive: true });
        writeFileSync(join(dir, `Pulumi.${STACK}.yaml`), `config:\n  cli-backup:dataDir: ${join(work, "host-data")}\n`);
        await down(dir, { stack: STACK, purge: true, log: false });
        await up(dir, { stack: STACK, log: false });
    });
    after(async () => {
        await down(dir, { stack: STACK, purge: true, log: false });
        rmSync(work, { recursive: true, force: true });
    });

    test("capture, list and restore run the host's scripts; ps shows the last success", async () => {
        const before = JSON.parse((await dropyard("ps", "--json", "--stack", STACK)).stdout);
        assert.deepEqual(before.databases[0].backup, { destinations: {} });
        assert.match((await dropyard("ps", "--stack", STACK)).stdout, /^cb-pg +- +never run +-$/m);

        await sql("CREATE TABLE notes (body text); INSERT INTO notes VALUES ('kept by the backup')");
        const capture = await dropyard("backups", "--stack", STACK, "cb-pg", "capture");
        assert.equal(capture.status, 0, capture.stderr + capture.stdout);
        const ps = JSON.parse((await dropyard("ps", "--json", "--stack", STACK)).stdout);
        const dest = ps.databases[0].backup.destinations.directory;
        assert.match(dest.lastSuccess, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        assert.equal(dest.lastFailure, null);
        assert.match(dest.snapshot, /^[0-9a-f]{64}$/);
        assert.match(
            (await dropyard("ps", "--stack", STACK)).stdout,
            new RegExp(`^cb-pg +directory +${dest.lastSuccess} +-$`, "m"),
        );

        const list = await dropyard("backups", "--stack", STACK, "cb-pg", "list");
        assert.equal(list.status, 0, list.stderr);
        // restic's table shows the short id.
        assert.match(list.stdout, new RegExp(`^${dest.snapshot.slice(0, 8)} `, "m"));

        await sql("DELETE FROM notes");
        const restore = await dropyard("backups", "--stack", STACK, "cb-pg", "restore", "--snapshot", dest.snapshot);
        assert.equal(restore.status, 0, restore.stderr + restore.stdout);
        assert.equal(await sql("SELECT body FROM notes"), "kept by the backup");
        // The restore script's own options pass through; a bad one is its error and status.
        const bad = await dropyard("backups", "--stack", STACK, "cb-pg", "restore", "--snapshot", "nope");
        assert.equal(bad.status, 2);
        assert.match(bad.stderr, /restore: snapshot "nope" is not a snapshot id/);
        // Nothing of the host-side runs is left behind.
        assert.equal(
            await docker("ps", "-a", "--filter", "label=dev.dropyard.role=host-exec", "--format", "{{.Names}}"),
            "",
        );
    });

    test("an unknown database or action lists the valid ones", async () => {
        const db = await dropyard("backups", "cb-pgx", "--stack", STACK);
        assert.equal(db.status, 1);
        assert.match(
            db.stderr,
            /dropyard: unknown database "cb-pgx"; the databases of stack cli-backup\/e2e are: cb-pg\n$/,
        );
        const act = await dropyard("backups", "--stack", STACK, "cb-pg", "rewind");
        assert.equal(act.status, 1);
        assert.match(
            act.stderr,
            /dropyard: backups: unknown action "rewind"; the actions are: list, capture, restore, status\n$/,
        );
    });
});
