// `dropyard backups` without a host: where the state says a database's backup lives (its backup
// step's delete script, rendered by lib/render/backup.ts), the arguments (restore's own options pass
// through), and every error before a host is asked.
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import type Docker from "dockerode";
import { backups } from "../../lib/cli/backups";
import type { Context } from "../../lib/cli/context";
import { parse } from "../../lib/cli/main";
import { readStackState } from "../../lib/cli/state";
import { renderBackupRemoveScript } from "../../lib/render/backup";
import { EXPORT, P } from "./cli-fixture";

const MODEL = readStackState(
    {
        ...EXPORT,
        deployment: {
            ...EXPORT.deployment,
            resources: [
                ...EXPORT.deployment.resources,
                {
                    urn: `${P}dropyard:index:Postgres$command:remote:Command::counter-db-backup`,
                    custom: true,
                    id: "bk",
                    type: "command:remote:Command",
                    parent: `${P}dropyard:index:Postgres::counter-db`,
                    inputs: {
                        delete: renderBackupRemoveScript({
                            stateDir: "/var/lib/dropyard/backups/counter-db",
                            cronFile: "/etc/cron.d/dropyard-counter-host-backup-counter-db",
                        }),
                    },
                },
            ],
        },
    },
    "export.json",
);
const NO_BACKUP = readStackState(EXPORT, "export.json");

function context(model: typeof MODEL): Context {
    const docker = {} as Docker; // any call to it fails the test
    return {
        model,
        json: false,
        out: () => undefined,
        progress: () => undefined,
        docker: () => docker,
        io: { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() },
    };
}

describe("dropyard backups", () => {
    test("the state gives the backup's directory on the host", () => {
        assert.equal(MODEL.databases[0].backupDir, "/var/lib/dropyard/backups/counter-db");
        assert.equal(NO_BACKUP.databases[0].backupDir, undefined);
    });

    test("arguments: the database, the action, then restore's own options", () => {
        const a = parse(["backups", "--stack", "prod", "counter-db", "restore", "--from", "bucket", "--force"]);
        assert.ok(a !== "help");
        assert.deepEqual(
            [a.positionals, a.cmd, a.stack],
            [["counter-db", "restore"], ["--from", "bucket", "--force"], "prod"],
        );
        const b = parse(["backups", "counter-db"]);
        assert.ok(b !== "help");
        assert.deepEqual([b.positionals, b.cmd], [["counter-db"], []]);
    });

    test("an unknown database, one without backup, an unknown action, stray arguments", async () => {
        await assert.rejects(backups(context(MODEL), "counter-dbx", undefined, []), {
            message: 'unknown database "counter-dbx"; the databases of stack counter/prod are: counter-db',
        });
        await assert.rejects(backups(context(NO_BACKUP), "counter-db", "capture", []), {
            message:
                'database "counter-db" has no backup; give it `backup: true` (or a BackupArgs) and run `pulumi up`',
        });
        await assert.rejects(backups(context(MODEL), "counter-db", "rewind", []), {
            message: 'backups: unknown action "rewind"; the actions are: list, capture, restore, status',
        });
        await assert.rejects(backups(context(MODEL), "counter-db", "capture", ["--now"]), {
            message: 'backups capture takes no arguments, got "--now"',
        });
    });
});
