// App.schedules: the host command that installs the jobs (scripts, cron entries, the containers a run
// takes its release from), its scripts checked by bash -n and shellcheck, and a ConfigError for each
// bad job: a cron expression that does not parse, an empty command, a name that is no process type name.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { evaluate, Graph } from "../../sandbox/harness";
import { rejectsBeforeCreating } from "../support/helpers";
import { App, AppArgs, Host } from "../../lib";
import {
    renderJobScript,
    renderSchedulesInstallScript,
    renderSchedulesRemoveScript,
    SCHEDULE_CONTAINERS,
    SCHEDULE_JOBS,
} from "../../lib/render/schedules";
import { appDir, localHost } from "../support/fixtures";
import { assertShellClean } from "../support/shellcheck";
import { CONTAINER, LOCAL_COMMAND } from "../support/types";

const jobsDir = () => appDir({ Procfile: "web: gunicorn app:app\nworker: python worker.py\n" });

const SCHEDULES = {
    "clear-sessions": { cron: "0 3 * * *", command: "python manage.py clearsessions" },
    tick: { cron: "* * * * *", command: "date >> /data/ticks; sleep 1" },
};

function app(extra: Partial<AppArgs> = {}): Promise<Graph> {
    return evaluate(() => {
        const host = new Host("box", { local: true, dataDir: "/srv/dropyard" });
        new App("counter", { host, build: jobsDir(), schedules: SCHEDULES, ...extra });
    });
}

test("schedules: one host command installs every job after the containers run, and runs again when they are replaced", async () => {
    const g = await app();
    const step = g.one(LOCAL_COMMAND, "counter-schedules");
    const s = {
        app: "counter",
        hostName: "box",
        stateDir: "/srv/dropyard/schedules/counter",
        edgeNetwork: "box-edge",
        jobs: [
            {
                name: "clear-sessions",
                cron: "0 3 * * *",
                command: ["/bin/sh", "-c", "exec python manage.py clearsessions"],
            },
            { name: "tick", cron: "* * * * *", command: ["/bin/sh", "-c", "date >> /data/ticks; sleep 1"] },
        ],
    };
    assert.equal(step.inputs.create, renderSchedulesInstallScript(s));
    assert.equal(step.inputs.delete, renderSchedulesRemoveScript({ ...s, jobs: ["clear-sessions", "tick"] }));
    const containers = g.customResourcesUnder("dropyard:index:App::counter").filter(r => r.type === CONTAINER);
    assert.deepEqual(
        containers.map(c => c.name),
        ["counter-web-1", "counter-worker"],
    );
    // Web first: a run takes the release of the first one running. The names change on every replacement.
    assert.equal(step.inputs.environment[SCHEDULE_CONTAINERS], containers.map(c => c.outputs.name).join(" "));
    assert.deepEqual(JSON.parse(step.inputs.environment[SCHEDULE_JOBS]), {
        "clear-sessions": "0 3 * * *",
        tick: "* * * * *",
    });
    for (const c of containers) assert.ok(g.waitsFor(step, c), `the schedules step does not wait for ${c.name}`);
    // The cron line: every minute, the job's script, its output appended to the job's log.
    assert.ok(
        step.inputs.create.includes(
            String.raw`printf '%s %s %s\n' '* * * * *' "$user" ''\''/srv/dropyard/schedules/counter/tick.sh'\'' >> '\''/srv/dropyard/schedules/counter/tick.log'\'' 2>&1'`,
        ),
    );
});

test("an App without schedules has no schedules step", async () => {
    const g = await app({ schedules: {} });
    assert.equal(
        g.customResourcesUnder("dropyard:index:App::counter").some(r => r.name === "counter-schedules"),
        false,
    );
});

test("the install, job and remove scripts pass bash -n and shellcheck", () => {
    const s = {
        app: "counter",
        hostName: "box",
        stateDir: "/srv/d/schedules/counter",
        edgeNetwork: "box-edge",
        jobs: [{ name: "tick", cron: "@hourly", command: ["/bin/sh", "-c", "echo 'it''s' \"$HOME\""] }],
    };
    const scripts = [
        renderSchedulesInstallScript(s),
        renderJobScript(s, s.jobs[0]),
        renderSchedulesRemoveScript({ ...s, jobs: ["tick"] }),
    ];
    for (const [i, script] of scripts.entries()) assertShellClean(`schedules-${i}`, script);
});

const bad = (schedules: AppArgs["schedules"], message: string) =>
    rejectsBeforeCreating(
        "App",
        "counter",
        () => new App("counter", { host: localHost(), build: jobsDir(), schedules }),
        message,
    );

test("a cron expression that does not parse is a ConfigError naming the job", async () => {
    await bad(
        { tick: { cron: "* * * *", command: "true" } },
        'App "counter": schedules.tick.cron "* * * *" does not parse: has 4 fields, not 5; use five cron fields, e.g. "0 3 * * *" (daily at 03:00), or @daily',
    );
    await bad(
        { tick: { cron: "61 * * * *", command: "true" } },
        `App "counter": schedules.tick.cron "61 * * * *" does not parse: minute "61" is not 0-59; use five cron fields, e.g. "0 3 * * *" (daily at 03:00), or @daily`,
    );
});

test("an empty command, a bad name, or the name of a process type is a ConfigError", async () => {
    await bad(
        { tick: { cron: "@daily", command: "  " } },
        'App "counter": schedules.tick.command is empty; give the command to run, e.g. python manage.py clearsessions',
    );
    await bad(
        { "clear sessions": { cron: "@daily", command: "true" } },
        'App "counter": schedules.clear sessions is not a valid job name; use letters, digits, _ and - only, e.g. clear-sessions',
    );
    await bad(
        { worker: { cron: "@daily", command: "true" } },
        'App "counter": schedules.worker has the name of a process type ("worker"), which dropyard logs -p would not tell apart; give the job a name of its own',
    );
    await bad(
        { "web-2": { cron: "@daily", command: "true" } },
        'App "counter": schedules.web-2 has the name of a process type ("web-2"), which dropyard logs -p would not tell apart; give the job a name of its own',
    );
    await bad({ tick: { cron: "@daily" } as never }, 'App "counter": schedules.tick.command is missing; give a string');
});
