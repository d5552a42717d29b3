// The backup scripts, as Postgres and MariaDB render them: bash -n and shellcheck for every variant, then
// backup.sh run for real against a stand-in `docker` (a fake pg_dump and a fake restic that keeps what it is
// given): a good run records success and the snapshot; a dump that fails, or a repository that refuses,
// exits non-zero and records the failure with its message and no success.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { assertShellClean } from "../support/shellcheck";
import { evaluate } from "../../sandbox/harness";
import { MariaDB, Postgres } from "../../lib";
import { BackupPlan, renderBackupScript, renderRestoreScript } from "../../lib/render/backup";
import { spacesBucket, tempDir, localHost } from "../support/fixtures";
import { LOCAL_COMMAND } from "../support/types";

const work = tempDir("dropyard-backup-");

const bucket = spacesBucket();

test("every backup script passes bash -n and shellcheck", async () => {
    for (const [variant, backup] of Object.entries({
        directory: true as const,
        bucket: { bucket, cron: true },
        both: {
            bucket,
            directory: "/srv/backups/db",
            networks: ["s3net"],
            caBundle: "PEM",
            retention: { daily: 3, weekly: 2, monthly: 6 },
        },
    })) {
        const g = await evaluate(() => {
            const host = localHost("box", { dataDir: "/var/lib/dropyard" });
            new Postgres("pg", { host, backup });
            new MariaDB("maria", { host, backup });
        });
        for (const db of ["pg", "maria"]) {
            const c = g.one(LOCAL_COMMAND, `${db}-backup`).inputs;
            assertShellClean(`${variant}-${db}-install`, c.create);
            assertShellClean(`${variant}-${db}-remove`, c.delete);
            assertShellClean(
                `${variant}-${db}-before-change`,
                g.one(LOCAL_COMMAND, `${db}-backup-before-change`).inputs.create,
            );
        }
    }
});

/** A stand-in `docker`: `exec … pg_dump` prints a dump (or fails), `run … restic` plays restic on a folder. */
const FAKE_DOCKER = path.join(__dirname, "fake-docker-restic.sh");

function plan(stateDir: string): BackupPlan {
    return {
        engine: "postgres",
        container: "db",
        database: "app_db",
        user: "app",
        stateDir,
        image: "restic/restic:0.18.0",
        destinations: { directory: { kind: "directory", path: `${stateDir}/repository` } },
        retention: { daily: 7, weekly: 4, monthly: 0 },
        networks: [],
        caBundle: false,
        owner: "test",
    };
}

function runBackup(env: Record<string, string>): { status: number | null; stderr: string; json: any } {
    const stateDir = path.join(work, "state");
    const bin = path.join(work, "bin");
    const store = path.join(work, "store");
    for (const d of [stateDir, bin, store]) fs.mkdirSync(d, { recursive: true });
    fs.copyFileSync(FAKE_DOCKER, path.join(bin, "docker"));
    fs.chmodSync(path.join(bin, "docker"), 0o755);
    const script = path.join(stateDir, "backup.sh");
    fs.writeFileSync(script, renderBackupScript(plan(stateDir)));
    const r = spawnSync("bash", [script], {
        encoding: "utf8",
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, FAKE_STORE: store, ...env },
    });
    return {
        status: r.status,
        stderr: r.stderr,
        json: JSON.parse(fs.readFileSync(path.join(stateDir, "status.json"), "utf8")),
    };
}

test("backup.sh records success, then a failing dump and a refusing repository as failures, never as success", () => {
    const ok = runBackup({});
    assert.equal(ok.status, 0, ok.stderr);
    const first = ok.json.destinations.directory;
    assert.ok(first.lastSuccess);
    assert.equal(first.bytes, 5000);
    assert.equal(first.snapshot, "a0000000");
    assert.equal(first.lastFailure, null);

    const dumpFails = runBackup({ FAKE_DUMP_FAIL: "1" });
    assert.equal(dumpFails.status, 1);
    const d = dumpFails.json.destinations.directory;
    assert.equal(d.lastSuccess, first.lastSuccess);
    assert.equal(d.snapshot, "a0000000");
    assert.ok(d.lastFailure);
    assert.match(d.lastError, /connection to server failed.*the dump failed/);

    const refuses = runBackup({ FAKE_REPO_REFUSES: "1" });
    assert.equal(refuses.status, 1);
    assert.match(refuses.json.destinations.directory.lastError, /Access Denied.*does not answer/);
    assert.equal(refuses.json.destinations.directory.lastSuccess, first.lastSuccess);
});

test("restore.sh explains itself and refuses unknown arguments", () => {
    const stateDir = path.join(work, "restore");
    fs.mkdirSync(stateDir, { recursive: true });
    const script = path.join(stateDir, "restore.sh");
    fs.writeFileSync(script, renderRestoreScript(plan(stateDir)));
    const help = spawnSync("bash", [script, "--help"], { encoding: "utf8" });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--snapshot ID/);
    assert.match(help.stdout, /--force/);
    const bad = spawnSync("bash", [script, "--snapshot", "x; rm -rf /"], { encoding: "utf8" });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /is not a snapshot id/);
});
