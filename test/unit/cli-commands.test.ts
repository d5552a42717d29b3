// The `dropyard` command without a host: its arguments, every error message a user can meet before
// a host is asked, and `ps` against a stand-in Docker API (no secret value on its output).
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import type Docker from "dockerode";
import { Context, duration, exec, logs, parseSince, ps, run } from "../../lib/cli/commands";
import { main, parse } from "../../lib/cli/main";
import { readStackState } from "../../lib/cli/state";
import { EXPORT } from "./cli-fixture";

const model = readStackState(EXPORT, "export.json");

function io() {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const text = { out: "", err: "" };
    stdout.on("data", d => {
        text.out += d;
    });
    stderr.on("data", d => {
        text.err += d;
    });
    return { io: { stdin: new PassThrough(), stdout, stderr }, text };
}

/** A Docker API that knows the fixture's containers, running and healthy; it fails on anything else. */
const fakeDocker = {
    getContainer: (id: string) => ({
        inspect: async () => {
            if (id === "worker0123") throw Object.assign(new Error("no such container"), { statusCode: 404 });
            return {
                Name: `/${id}-name`,
                Image: "sha256:0123456789abcdef0123",
                RestartCount: 2,
                State: {
                    Running: true,
                    Status: "running",
                    StartedAt: new Date(Date.now() - 125_000).toISOString(),
                    Health: { Status: "healthy" },
                },
                Config: { Env: ["DATABASE_URL=postgres://app:db-pass-very-secret@counter-db/counter"] },
            };
        },
    }),
} as unknown as Docker;

function context(json: boolean): { ctx: Context; out: string[] } {
    const out: string[] = [];
    const { io: streams } = io();
    return {
        out,
        ctx: { model, json, io: streams, out: t => out.push(t), progress: () => undefined, docker: () => fakeDocker },
    };
}

describe("dropyard arguments", () => {
    test("run and exec: the container's command starts after the app (its own options are its own) or after --", () => {
        const a = parse(["run", "counter", "python", "manage.py", "migrate", "--check"]);
        assert.ok(a !== "help");
        assert.deepEqual(
            [a.command, a.positionals, a.cmd],
            ["run", ["counter"], ["python", "manage.py", "migrate", "--check"]],
        );
        const b = parse(["exec", "--state", "s.json", "counter", "-p", "web", "--", "cat", "/etc/hostname"]);
        assert.ok(b !== "help");
        assert.deepEqual(
            [b.state, b.process, b.positionals, b.cmd],
            ["s.json", "web", ["counter"], ["cat", "/etc/hostname"]],
        );
    });

    test("logs options", () => {
        const a = parse(["logs", "counter", "-p", "web", "-f", "--since", "10m", "-n", "20", "--json"]);
        assert.ok(a !== "help");
        assert.deepEqual([a.process, a.follow, a.since, a.lines, a.json], ["web", true, "10m", 20, true]);
    });

    test("errors name the fix", () => {
        assert.throws(() => parse(["release", "counter"]), {
            message: /^unknown command "release"; the commands are: ps, logs, run, exec, releases, rollback, backups\n/,
        });
        assert.throws(() => parse(["logs"]), { message: "logs: give the app's name, e.g. `dropyard logs web-app`" });
        assert.throws(() => parse(["ps", "a", "b"]), { message: /^ps: unexpected argument "b"/ });
        assert.throws(() => parse(["ps", "-f"]), { message: /^ps does not take --follow/ });
        assert.throws(() => parse(["logs", "counter", "--bogus"]), { message: /^logs: Unknown option '--bogus'/ });
        assert.throws(() => parse(["logs", "counter", "-n", "many"]), {
            message: `-n "many" is not a number of lines; give a whole number, e.g. -n 100`,
        });
        assert.equal(parse(["--help"]), "help");
    });

    test("--since takes durations and dates", () => {
        assert.equal(parseSince("10m", 1_000_000_000), 1_000_000 - 600);
        assert.equal(parseSince("2026-12-01T10:00:00Z"), Date.parse("2026-12-01T10:00:00Z") / 1000);
        assert.throws(() => parseSince("yesterday"), {
            message: `--since "yesterday" is not understood; give a duration (30s, 10m, 2h, 1d) or a date (2026-12-01T10:00:00Z)`,
        });
    });

    test("durations for humans", () => {
        assert.deepEqual([5, 125, 7300, 90000].map(duration), ["5s", "2m", "2h1m", "1d1h"]);
    });
});

describe("dropyard errors before any host is asked", () => {
    test("an unknown app lists the stack's apps", async () => {
        const { ctx } = context(false);
        const message = `unknown app "countr"; the apps of stack counter/prod are: counter`;
        await assert.rejects(ps(ctx, "countr"), { message });
        await assert.rejects(logs(ctx, "countr"), { message });
        await assert.rejects(run(ctx, "countr", ["true"]), { message });
        await assert.rejects(exec(ctx, "countr", undefined, ["true"]), { message });
    });

    test("an unknown process type lists the app's types", async () => {
        const { ctx } = context(false);
        const message = `app "counter" has no process type "wbe"; its process types are: web, worker`;
        await assert.rejects(logs(ctx, "counter", { process: "wbe" }), { message });
        await assert.rejects(exec(ctx, "counter", "wbe", ["true"]), { message });
    });

    test("run and exec without a command", async () => {
        const { ctx } = context(false);
        await assert.rejects(run(ctx, "counter", []), {
            message: "run: give the command to run, e.g. `dropyard run counter -- sh`",
        });
        await assert.rejects(exec(ctx, "counter", undefined, []), {
            message: "exec: give the command to run, e.g. `dropyard exec counter -- sh`",
        });
    });

    test("exec when no container of the type runs", async () => {
        const { ctx } = context(false);
        await assert.rejects(exec(ctx, "counter", "worker", ["true"]), {
            message:
                'app "counter" has no running container of process type "worker" (counter-worker-9a8b7c6); see `dropyard ps counter`',
        });
    });

    test("--state: a missing file, not JSON, with --stack; no pulumi on PATH", async () => {
        const run1 = async (argv: string[]) => {
            const { io: s, text } = io();
            const code = await main(argv, s);
            return { code, err: text.err };
        };
        assert.deepEqual(await run1(["ps", "--state", "/nonexistent/state.json"]), {
            code: 1,
            err: "dropyard: --state /nonexistent/state.json: no such file\n",
        });
        assert.deepEqual(await run1(["ps", "--state", __filename]), {
            code: 1,
            err: `dropyard: --state ${__filename}: not JSON; give the output of \`pulumi stack export --show-secrets\`\n`,
        });
        assert.deepEqual(await run1(["ps", "--state", "s.json", "--stack", "prod"]), {
            code: 1,
            err: "dropyard: --stack and --state exclude each other: --state is one stack's state already\n",
        });
        const path = process.env.PATH;
        process.env.PATH = "/nonexistent";
        try {
            const r = await run1(["ps"]);
            assert.equal(r.code, 1);
            assert.match(
                r.err,
                /dropyard: the Pulumi CLI \(pulumi\) is not on PATH; install it, or give the state with --state FILE\n$/,
            );
        } finally {
            process.env.PATH = path;
        }
    });
});

describe("dropyard errors from the hosts", () => {
    const withHost = (docker: { host?: string }) => ({
        ...model,
        hosts: [{ name: "counter-host", docker, owned: false }],
    });
    const ps1 = async (m: typeof model) => {
        const { io: s, text } = io();
        const code = await main(["ps"], s, m);
        return { code, err: text.err };
    };

    test("a Docker API that does not answer names the host and its address", async () => {
        assert.deepEqual(await ps1(withHost({ host: "unix:///nonexistent/docker.sock" })), {
            code: 1,
            err: `dropyard: cannot reach the Docker API of host "counter-host" (unix:///nonexistent/docker.sock): ENOENT; is the host up?\n`,
        });
        assert.deepEqual(await ps1(withHost({ host: "tcp://127.0.0.1:1" })), {
            code: 1,
            err: `dropyard: cannot reach the Docker API of host "counter-host" (tcp://127.0.0.1:1): ECONNREFUSED; is the host up?\n`,
        });
    });

    test("a container on a host the state does not describe", async () => {
        assert.deepEqual(await ps1({ ...model, hosts: [] }), {
            code: 1,
            err: `dropyard: host "counter-host" is not in the state; the hosts are: none\n`,
        });
    });
});

describe("dropyard ps", () => {
    test("a table of every app's and database's containers, with the names of the app's variables only", async () => {
        const { ctx, out } = context(false);
        await ps(ctx);
        const text = out.join("\n");
        assert.match(text, /^stack counter\/prod\nNAME +PROCESS +CONTAINER +HEALTH +IMAGE +RESTARTS +UP\n/);
        assert.match(text, /counter +web +web0123-name +healthy +0123456789ab +2 +2m\n/);
        assert.match(text, /counter +worker +counter-worker-9a8b7c6 +missing/);
        assert.match(text, /counter-db +postgres +db0123-name +healthy/);
        assert.match(text, /counter env: DATABASE_URL, PORT$/);
        assert.doesNotMatch(text, /very-secret|KEY-PEM/);
    });

    test("--json: the same facts for scripts, and no secret value either", async () => {
        const { ctx, out } = context(true);
        await ps(ctx, "counter");
        const r = JSON.parse(out.join("\n"));
        assert.deepEqual(r.apps[0].env, ["DATABASE_URL", "PORT"]);
        assert.deepEqual(r.apps[0].containers[0], {
            name: "web0123-name",
            process: "web",
            health: "healthy",
            image: "sha256:0123456789abcdef0123",
            restarts: 2,
            startedAt: r.apps[0].containers[0].startedAt,
            uptimeSeconds: 125,
        });
        assert.deepEqual(r.databases, []);
        assert.doesNotMatch(out.join("\n"), /very-secret|KEY-PEM/);
    });
});
