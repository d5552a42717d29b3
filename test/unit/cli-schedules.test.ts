// Scheduled jobs in the `dropyard` command without a host: the state's schedules step gives the jobs,
// `ps` shows each one's last run from the container it left (a stand-in Docker API), `logs -p <job>`
// reads that container, and the job names are among the process types an error lists.
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import type Docker from "dockerode";
import { Context, containersOf, ps } from "../../lib/cli/commands";
import { readStackState } from "../../lib/cli/state";
import { EXPORT, P } from "./cli-fixture";

const MODEL = readStackState(
    {
        ...EXPORT,
        deployment: {
            ...EXPORT.deployment,
            resources: [
                ...EXPORT.deployment.resources,
                {
                    urn: `${P}dropyard:index:App$command:local:Command::counter-schedules`,
                    custom: true,
                    id: "cmd",
                    type: "command:local:Command",
                    parent: `${P}dropyard:index:App::counter`,
                    inputs: {
                        environment: {
                            DROPYARD_APP_CONTAINERS: "counter-web-1-4f2a1b0",
                            DROPYARD_SCHEDULES: JSON.stringify({ "clear-sessions": "0 3 * * *", tick: "* * * * *" }),
                        },
                    },
                },
            ],
        },
    },
    "export.json",
);

/** The app's containers run; the last run of clear-sessions exited 3; tick never ran. */
const fakeDocker = {
    getContainer: (name: string) => ({
        inspect: async () => {
            if (name === "counter-clear-sessions-run") {
                return {
                    State: {
                        Running: false,
                        StartedAt: "2026-12-01T03:00:00.5Z",
                        FinishedAt: "2026-12-01T03:00:04Z",
                        ExitCode: 3,
                    },
                };
            }
            if (name === "counter-tick-run" || name === "worker0123")
                throw Object.assign(new Error("no such container"), { statusCode: 404 });
            return {
                Name: `/${name}`,
                Image: "sha256:app",
                RestartCount: 0,
                State: { Running: true, Status: "running", StartedAt: "2026-12-01T00:00:00Z" },
            };
        },
    }),
} as unknown as Docker;

function context(json: boolean) {
    const out: string[] = [];
    const ctx: Context = {
        model: MODEL,
        json,
        out: t => out.push(t),
        progress: () => undefined,
        docker: () => fakeDocker,
        io: { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() },
    };
    return { ctx, out };
}

describe("dropyard and scheduled jobs", () => {
    test("the state gives each App's jobs and cron expressions", () => {
        assert.deepEqual(MODEL.apps[0].schedules, [
            { name: "clear-sessions", cron: "0 3 * * *" },
            { name: "tick", cron: "* * * * *" },
        ]);
    });

    test("ps shows each job's last run: its exit status and times, or that it never ran", async () => {
        const { ctx } = context(true);
        const r = await ps(ctx, "counter");
        assert.deepEqual(r.apps[0].schedules, [
            {
                name: "clear-sessions",
                cron: "0 3 * * *",
                lastRun: {
                    startedAt: "2026-12-01T03:00:00.5Z",
                    running: false,
                    finishedAt: "2026-12-01T03:00:04Z",
                    exitCode: 3,
                },
            },
            { name: "tick", cron: "* * * * *" },
        ]);
        const table = context(false);
        await ps(table.ctx, "counter");
        assert.match(
            table.out[0],
            /^APP +SCHEDULE +CRON +LAST RUN +STATUS\ncounter +clear-sessions +0 3 \* \* \* +2026-12-01T03:00:00Z +failed \(exit 3\)\ncounter +tick +\* \* \* \* \* +- +never run$/m,
        );
    });

    test("logs -p <job> reads the container its last run left; job names are listed among the process types", () => {
        const app = MODEL.apps[0];
        assert.deepEqual(
            containersOf(app, "tick").map(c => [c.name, c.process, c.host]),
            [["counter-tick-run", "tick", "counter-host"]],
        );
        assert.throws(() => containersOf(app, "tock"), {
            message:
                'app "counter" has no process type "tock"; its process types are: web, worker, clear-sessions, tick',
        });
    });
});
