import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { evaluate, Graph, isSecretAt } from "../../sandbox/harness";
import { rejectsBeforeCreating } from "../support/helpers";
import { BackupArgs, BridgeNet, Host, MariaDB, Postgres } from "../../lib";
import { cronProblem, isBucketName } from "../../lib/database/backup";
import { backupSchedule } from "../../lib/render/backup";
import { CONTAINER, LOCAL_COMMAND, REMOTE_COMMAND, REMOTE_IMAGE } from "../support/types";
import { localHost, spacesBucket } from "../support/fixtures";

const PASSWORD = "random:index/randomPassword:RandomPassword";

const bucket = spacesBucket();

function pg(backup: BackupArgs | true | undefined): Promise<Graph> {
    return evaluate(() => {
        const db = new Postgres("db", { host: localHost("box", { dataDir: "/srv/dy" }), backup });
        return { passphrase: db.backupPassphrase };
    });
}

test("without backup, a database has no backup children", async () => {
    const g = await pg(undefined);
    assert.deepEqual(
        g
            .ofType(LOCAL_COMMAND)
            .filter(c => c.name.startsWith("db-"))
            .map(c => c.name),
        ["db-upgrade"],
    );
    assert.equal(g.ofType(PASSWORD).filter(p => p.name.includes("backup")).length, 0);
});

test("backup: true writes the scripts under <dataDir>/backups/<name>, to a directory there, with a random passphrase output as a secret", async () => {
    const g = await pg(true);
    const install = g.one(LOCAL_COMMAND, "db-backup");
    assert.match(install.inputs.create, /cat > '\/srv\/dy\/backups\/db\/backup\.sh\.new'/);
    assert.match(install.inputs.create, /'\/srv\/dy\/backups\/db\/repository'/);
    assert.doesNotMatch(install.inputs.create, /cron\.d/, "no cron entry on a local host by default");
    assert.doesNotMatch(install.inputs.create, /s3:/);
    g.one(PASSWORD, "db-backup-passphrase");
    assert.ok(g.secretOutputs.has("passphrase"));
    // The passphrase travels on standard input, secret, never in the script.
    assert.ok(isSecretAt(install, "stdin"));
    assert.match(install.inputs.stdin, /^RESTIC_PASSWORD=/);
    assert.doesNotMatch(install.inputs.create, /RESTIC_PASSWORD=/);
});

test("the container waits for the backup taken before a change, which re-runs when the image changes", async () => {
    const g = await pg(true);
    const before = g.one(LOCAL_COMMAND, "db-backup-before-change");
    assert.equal(before.inputs.create, "bash '/srv/dy/backups/db/backup.sh' --before-change");
    assert.ok(g.waitsFor(g.one(CONTAINER, "db-container"), before));
    assert.ok(g.waitsFor(before, g.one(LOCAL_COMMAND, "db-backup")));
    assert.equal(before.inputs.triggers[0], g.one(REMOTE_IMAGE, "db-image").outputs.imageId);
});

test("a change that replaces the container (not only the image) re-runs the backup first; the same program does not", async () => {
    const triggers = async (shmSize: number, networks = false) =>
        (
            await evaluate(() => {
                const host = localHost("box", { dataDir: "/srv/dy" });
                new Postgres("db", {
                    host,
                    backup: true,
                    shmSize,
                    networks: networks ? [new BridgeNet("shared", { host })] : undefined,
                });
            })
        ).one(LOCAL_COMMAND, "db-backup-before-change").inputs.triggers;
    const base = await triggers(256);
    assert.deepEqual(await triggers(256), base);
    assert.notDeepEqual(await triggers(512), base, "a new /dev/shm size replaces the container");
    assert.notDeepEqual(await triggers(256, true), base, "other networks replace the container");
    assert.equal((await triggers(512))[0], base[0], "the image did not change");
});

test("a bucket goes into the repository URL and its keys into the secret env; the directory is then only written when given", async () => {
    const g = await pg({ bucket, retention: { daily: 3, weekly: 2, monthly: 6 } });
    const install = g.one(LOCAL_COMMAND, "db-backup");
    assert.match(install.inputs.create, /'s3:https:\/\/fra1\.digitaloceanspaces\.com\/acme-backups\/db'/);
    assert.doesNotMatch(install.inputs.create, /repository'/);
    assert.match(install.inputs.create, /--keep-daily 3 --keep-weekly 2 --keep-monthly 6 --prune/);
    assert.match(
        install.inputs.stdin,
        /AWS_ACCESS_KEY_ID=DO00KEY\nAWS_SECRET_ACCESS_KEY=s3cr3t\nAWS_DEFAULT_REGION=fra1\n/,
    );
    assert.ok(isSecretAt(install, "stdin"));
    const both = await pg({ bucket, directory: "/mnt/backups/db" });
    assert.match(both.one(LOCAL_COMMAND, "db-backup").inputs.create, /'\/mnt\/backups\/db'/);
});

test("a given passphrase is used (as a secret) instead of a random one", async () => {
    const g = await pg({ passphrase: pulumi.secret("keep me") });
    assert.equal(g.ofType(PASSWORD).filter(p => p.name.includes("backup")).length, 0);
    assert.match(g.one(LOCAL_COMMAND, "db-backup").inputs.stdin, /^RESTIC_PASSWORD=keep me\n/);
});

test("a droplet or server gets a cron entry on the schedule; MariaDB dumps with --single-transaction", async () => {
    const g = await evaluate(() => {
        const host = new Host("prod", { server: { address: "203.0.113.10", privateKey: pulumi.secret("KEY") } });
        new MariaDB("wp-db", { host, backup: { schedule: "30 2 * * *" } });
    });
    const install = g.one(REMOTE_COMMAND, "wp-db-backup");
    assert.match(String(install.inputs.create), /'\/etc\/cron\.d\/dropyard-prod-backup-wp-db'/);
    assert.match(String(install.inputs.create), /'30 2 \* \* \*'/);
    assert.match(String(install.inputs.create), /mariadb-dump -uroot --single-transaction/);
});

test("the default schedule is daily between 01:00 and 04:59, stable, and parses", () => {
    const s = backupSchedule("prod/db");
    assert.equal(s, backupSchedule("prod/db"));
    assert.match(s, /^\d{1,2} [1-4] \* \* \*$/);
    assert.equal(cronProblem(s), undefined);
    for (const ok of ["*/15 * * * *", "0 3 * * mon-fri", "5 4 1,15 jan-jun 0", "@daily"])
        assert.equal(cronProblem(ok), undefined, ok);
    for (const bad of ["* * * *", "60 * * * *", "0 24 * * *", "0 3 * * 8", "*/0 * * * *", "@often", "5-1 * * * *"])
        assert.ok(cronProblem(bad), bad);
    for (const ok of ["acme-backups", "a.b.c", "abc"]) assert.ok(isBucketName(ok), ok);
    for (const bad of ["ab", "Acme", "-abc", "a..b", "192.168.1.1", "a_b", "abc-"]) assert.ok(!isBucketName(bad), bad);
});

test("bad backup arguments are ConfigErrors naming the field, before anything is created", async () => {
    const cases: [BackupArgs, string][] = [
        [
            { schedule: "every day" },
            `backup.schedule "every day" does not parse: has 2 fields, not 5; use five cron fields, e.g. "30 2 * * *" (daily at 02:30)`,
        ],
        [
            { retention: { daily: 0 } },
            "backup.retention.daily 0 is not a positive whole number; keep at least 1, or leave daily out",
        ],
        [
            { retention: { weekly: -1 } },
            "backup.retention.weekly -1 is not a positive whole number; keep at least 1, or leave weekly out",
        ],
        [
            { directory: "backups" },
            `backup.directory "backups" is not an absolute path; use a path on the host starting with /`,
        ],
        [
            { bucket: { ...bucket, bucket: "Bad_Bucket" } },
            `backup.bucket.bucket "Bad_Bucket" is not a name S3 accepts; use 3-63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit`,
        ],
        [
            { bucket: { ...bucket, endpoint: "http://fra1.digitaloceanspaces.com" } },
            `backup.bucket.endpoint "http://fra1.digitaloceanspaces.com" is not an https URL; give the endpoint without a path, e.g. https://fra1.digitaloceanspaces.com`,
        ],
        [
            { bucket: { ...bucket, secretAccessKey: "s3cr3t" } },
            `backup.bucket.secretAccessKey is a plain string; pass it as a secret, e.g. config.requireSecret("spacesSecret")`,
        ],
        [
            { passphrase: "hunter2" },
            `backup.passphrase is a plain string; pass it as a secret, e.g. config.requireSecret("backupPassphrase"), or leave it out for a random one`,
        ],
    ];
    for (const [backup, message] of cases) {
        await rejectsBeforeCreating(
            "Postgres",
            "db",
            () => new Postgres("db", { host: localHost(), backup }),
            `Postgres "db": ${message}`,
        );
    }
});
