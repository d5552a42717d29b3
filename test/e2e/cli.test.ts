// The `dropyard` command against examples/django-postgres deployed by the sandbox (self-signed
// certificate, no ACME). Its state is read the way a user's is: `npm run sandbox -- export` prints it
// in the format of `pulumi stack export --show-secrets`, and the command reads that file with --state,
// then speaks to the engine's Docker API. Each command runs as its own process, as a user runs it.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { containersWhere, docker } from "../support/docker";
import { until } from "../support/until";
import { fetchVia } from "../../sandbox/lib/http";
import { dropyardWithState, exportState } from "./support/dropyard";
import { deployment, prepare, REPO, STACK, teardown } from "./support/stack";

const HOST = "counter-host";
const DOMAIN = "counter.localhost";
const IMAGES = ["postgres:17", "nginx:1.30", "python:3.13-slim"];

const d = deployment("django-postgres", DOMAIN);
const work = mkdtempSync(join(tmpdir(), "dropyard-cli-e2e-"));
const stateFile = join(work, "state.json");

/** `dropyard <args> --state <the export>` in the stack's directory, to the end. */
function dropyard(command: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
    return dropyardWithState(d.dir, stateFile, command, ...args);
}

async function webContainer(): Promise<string> {
    const names = (
        await docker(
            "ps",
            "--filter",
            "label=dev.dropyard.app=counter",
            "--filter",
            "label=dev.dropyard.process=web",
            "--format",
            "{{.Names}}",
        )
    )
        .split("\n")
        .filter(Boolean);
    assert.equal(names.length, 1, `counter web containers: ${names.join(", ")}`);
    return names[0];
}

/** The value of DATABASE_URL's password, read from the engine: what must never be printed. */
async function databasePassword(): Promise<string> {
    const env = await docker("inspect", "-f", "{{json .Config.Env}}", await webContainer());
    const url = (JSON.parse(env) as string[]).find(e => e.startsWith("DATABASE_URL="))!;
    return decodeURIComponent(new URL(url.slice("DATABASE_URL=".length)).password);
}

describe("dropyard against the django example on the sandbox", () => {
    before(async () => {
        await prepare(d, HOST, IMAGES);
        await d.up({});
        exportState(d.dir, STACK, stateFile); // the same path as `npm run sandbox -- export <dir>`
    });

    after(async () => {
        rmSync(work, { recursive: true, force: true });
        await teardown(d, HOST);
    });

    test("ps lists the web container healthy with the image it runs, the database, and variable names without values", async () => {
        // The deploy step returns once its own probe passed. The engine here (20.10) ignores the start
        // interval, so Docker's own first check, and its "healthy", can come up to one interval (5 s) later.
        const web0 = await webContainer();
        await until(
            "Docker reports the web container healthy",
            10,
            async () => (await docker("inspect", "-f", "{{.State.Health.Status}}", web0)) === "healthy",
        );
        const r = dropyard("ps", "--json");
        assert.equal(r.status, 0, r.stderr);
        const ps = JSON.parse(r.stdout);
        assert.equal(ps.stack, `django-postgres/${STACK}`);
        const app = ps.apps.find((a: { name: string }) => a.name === "counter");
        assert.deepEqual(app.processes, ["web"]);
        assert.equal(app.containers.length, 1);
        const web = app.containers[0];
        assert.equal(web.name, await webContainer());
        assert.equal(web.health, "healthy");
        assert.equal(web.image, await docker("inspect", "-f", "{{.Image}}", await webContainer()));
        assert.match(web.image, /^sha256:[0-9a-f]{64}$/);
        assert.equal(web.restarts, 0);
        assert.ok(web.uptimeSeconds >= 0);
        assert.ok(app.env.includes("DATABASE_URL") && app.env.includes("SECRET_KEY"), app.env.join(", "));
        type Db = { name: string; kind: string; containers: { health: string }[] };
        assert.deepEqual(
            ps.databases.map((db: Db) => [db.name, db.kind, db.containers[0].health]),
            [["counter-db", "postgres", "healthy"]],
        );

        const table = dropyard("ps");
        assert.equal(table.status, 0, table.stderr);
        assert.match(
            table.stdout,
            new RegExp(`counter +web +${await webContainer()} +healthy +${web.image.slice(7, 19)} `),
        );
        assert.match(table.stdout, /counter env: .*DATABASE_URL/);
        const password = await databasePassword();
        assert.ok(password.length >= 8);
        for (const out of [r.stdout, r.stderr, table.stdout, table.stderr])
            assert.ok(!out.includes(password), "a secret value was printed");
    });

    test("logs -f shows a request made through the edge within 2 s, prefixed by its container", async () => {
        const marker = `/?probe=${randomUUID()}`;
        const web = await webContainer();
        const child = spawn(
            process.execPath,
            [
                "--import",
                "tsx",
                join(REPO, "lib/cli/main.ts"),
                "logs",
                "counter",
                "-f",
                "-n",
                "0",
                "--state",
                stateFile,
            ],
            { cwd: d.dir, stdio: ["ignore", "pipe", "pipe"] },
        );
        let out = "";
        child.stdout.on("data", c => {
            out += c;
        });
        try {
            await new Promise(r => setTimeout(r, 3000)); // connected and following
            const sent = Date.now();
            const res = await fetchVia({ host: DOMAIN, path: marker });
            assert.equal(res.status, 200);
            while (!out.includes(marker) && Date.now() - sent < 2000) await new Promise(r => setTimeout(r, 50));
            assert.ok(out.includes(marker), `not in the logs within 2 s: ${out.slice(-2000)}`);
            const line = out.split("\n").find(l => l.includes(marker))!;
            assert.match(
                line,
                new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+ web\\[${web}\\]: .*GET ${marker.replace(/[?]/g, "\\?")}`),
            );
        } finally {
            child.kill();
        }
    });

    test("logs without -f: the app's recent lines in time order", async () => {
        const r = dropyard("logs", "counter", "-n", "5", "--json");
        assert.equal(r.status, 0, r.stderr);
        const lines = r.stdout
            .trim()
            .split("\n")
            .map(l => JSON.parse(l) as { time: string; container: string; process: string });
        assert.ok(lines.length > 0 && lines.length <= 5);
        assert.deepEqual(
            [...lines].sort((a, b) => a.time.localeCompare(b.time)),
            lines,
        );
        const web = await webContainer();
        assert.ok(lines.every(l => l.container === web && l.process === "web"));
    });

    test("run executes `python manage.py migrate --check` in a one-off container and returns its status", async () => {
        const ok = dropyard("run", "counter", "python", "manage.py", "migrate", "--check");
        assert.equal(ok.status, 0, ok.stderr + ok.stdout);
        const failing = dropyard("run", "counter", "--", "sh", "-c", "echo to-stderr >&2; exit 3");
        assert.equal(failing.status, 3);
        assert.match(failing.stderr, /to-stderr/);
        // Not on the edge, and removed afterwards.
        const nets = dropyard(
            "run",
            "counter",
            "--",
            "python",
            "-c",
            "import socket; print(socket.gethostbyname('counter-db'))",
        );
        assert.equal(nets.status, 0, nets.stderr);
        assert.deepEqual(await containersWhere("label=dev.dropyard.role=run"), []);
        assert.deepEqual(
            await docker("ps", "-a", "--filter", "label=dev.dropyard.role=run", "--format", "{{.Names}}"),
            "",
        );
    });

    test("run is attached to the terminal when there is one, and exits with the command's status", async () => {
        // `script` gives the command a pseudo-terminal, as a user's shell would.
        const cmd = [
            process.execPath,
            "--import",
            "tsx",
            join(REPO, "lib/cli/main.ts"),
            "run",
            "--state",
            stateFile,
            "counter",
            "--",
            "sh",
            "-c",
            "tty; exit 5",
        ]
            .map(a => `'${a}'`)
            .join(" ");
        const r = spawnSync("script", ["-qec", cmd, "/dev/null"], { cwd: d.dir, encoding: "utf8", timeout: 120_000 });
        assert.equal(r.status, 5, r.stdout + r.stderr);
        assert.match(r.stdout, /\/dev\/pts\/\d+/);
        assert.deepEqual(await containersWhere("label=dev.dropyard.role=run"), []);
    });

    test("exec reads a file from the running web container", async () => {
        const r = dropyard("exec", "counter", "-p", "web", "--", "cat", "/etc/hostname");
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout.trim(), await docker("inspect", "-f", "{{.Config.Hostname}}", await webContainer()));
        assert.equal(dropyard("exec", "counter", "--", "sh", "-c", "exit 4").status, 4);
    });

    test("an unknown app or process type is an error that lists the valid ones", () => {
        const app = dropyard("logs", "countr");
        assert.equal(app.status, 1);
        assert.equal(
            app.stderr,
            `dropyard: unknown app "countr"; the apps of stack django-postgres/${STACK} are: counter\n`,
        );
        const type = dropyard("exec", "counter", "-p", "worker", "--", "true");
        assert.equal(type.status, 1);
        assert.equal(type.stderr, `dropyard: app "counter" has no process type "worker"; its process types are: web\n`);
    });
});
