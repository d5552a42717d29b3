// The deploy step's script (lib/render/deploy.ts): bash -n and shellcheck, then run by bash against a
// fake `docker` that plays the new web containers and the edge, so each branch is seen doing what it
// says (and the order of health, nginx -t, reload and drain); the two waits that run inside the edge run under a
// real bash and sh. Last, a vhost proxying to an App's group goes through a real `nginx -t` (Debian's nginx, from
// scripts/test-tools.sh).
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import * as fs from "node:fs";
import * as path from "node:path";
import { assertShellClean } from "../support/shellcheck";
import { callLine } from "../support/fake-commands";
import { evaluate } from "../../sandbox/harness";
import { App, Host, NginxVhost } from "../../lib";
import {
    DeployScript,
    DRAIN_LOOP,
    PROBE_LOOP,
    renderDeployScript,
    renderUpstreamGroup,
    shortId,
    WARM_LOOP,
} from "../../lib/render/deploy";
import { tempDir, localHost } from "../support/fixtures";
import { chroot, makeRoot, NGINX, nginxT, stubCert } from "../support/nginx";

const work = tempDir("dropyard-deploy-");

// Container states come from "$FAKE/state-<name>", one line per `docker inspect`, the last one repeating.
const FAKE_DOCKER = `#!/bin/bash
call="$*"; printf '%s\\n' "\${call//$'\\n'/ }" >> "$FAKE/calls" # one line per call
next() { # prints the next line of file $1 (the last one again once they run out)
    local n; n=$(cat "$1.n" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$1.n"
    sed -n "$n{p;q}" "$1" | grep . || tail -n 1 "$1"
}
case "$1 $2" in
    "inspect -f")
        case "$3" in
            *State.Running*) echo "\${FAKE_EDGE_RUNNING:-true}" ;;
            *Health.Log*) printf 'healthz answered 500: broken on purpose\\n@@dropyard@@\\n' ;;
            *Config.Healthcheck*) [ ! -e "$FAKE/probe-$4" ] || printf '3500000000 %s\n' "$(head -n 1 "$FAKE/check-$4")"; sed 1d "$FAKE/check-$4" 2>/dev/null ;;
            *State.Status*) [ -e "$FAKE/state-$4" ] || { echo "Error: No such object: $4" >&2; exit 1; }; next "$FAKE/state-$4" ;;
        esac ;;
    "exec web-"*) if [ "$3" = /bin/sh ] && [ "\${FAKE_NO_SH:-0}" = 1 ]; then exit 126; fi; [ "$(next "$FAKE/probe-$2")" = ok ] ;;
    "logs --tail") printf 'booting %s\\nlistening on 8000\\n' "$4" ;;
    "exec zd-nginx")
        case "$3 $4" in
            "bash -c") [ "\${FAKE_EDGE_BASH:-1}" = 1 ] || exit 127; [ "$(next "$FAKE/warm")" = ok ] || exit 3 ;;
            "sh -c") case "$6" in
                reload) # the reload loop: nginx -t, then the workers before the reload
                    { cat "$FAKE/conf.d/upstream-zd.conf" 2>/dev/null; echo @@; } >> "$FAKE/tested"
                    if [ "\${FAKE_NGINX_T:-0}" = 1 ]; then echo "nginx: [emerg] unknown variable"; exit 2; fi
                    echo "/proc/11/cmdline /proc/12/cmdline " ;;
                *) [ "$(next "$FAKE/drain")" = gone ] ;;
            esac ;;
        esac ;;
esac
`;

interface Run {
    code: number;
    stdout: string;
    stderr: string;
    calls: string[];
    map?: string;
    /** The upstream file as each `nginx -t` saw it. */
    tested: string[];
}

const EDGE: NonNullable<DeployScript["edge"]> = {
    container: "zd-nginx",
    lockFile: "",
    upstreamFile: "",
    drainSeconds: 5,
    webPort: 8000,
};

/** Runs the script with the fake docker; `states` per container, `drain` the answers of the drain check. */
function run(
    script: Partial<DeployScript>,
    states: Record<string, string[]>,
    opts: {
        drain?: string[];
        /** Answers of the first-HTTP-answer check from the edge, "ok" or anything else. */
        warm?: string[];
        env?: Record<string, string>;
        oldFile?: string;
        probes?: Record<string, { test: string[]; answers: string[] }>;
    } = {},
): Run {
    const dir = fs.mkdtempSync(path.join(work, "run-"));
    fs.writeFileSync(path.join(dir, "docker"), FAKE_DOCKER, { mode: 0o755 });
    for (const [c, s] of Object.entries(states)) fs.writeFileSync(path.join(dir, `state-${c}`), s.join("\n") + "\n");
    for (const [c, p] of Object.entries(opts.probes ?? {})) {
        fs.writeFileSync(path.join(dir, `check-${c}`), p.test.join("\n") + "\n");
        fs.writeFileSync(path.join(dir, `probe-${c}`), p.answers.join("\n") + "\n");
    }
    fs.writeFileSync(path.join(dir, "drain"), (opts.drain ?? ["gone"]).join("\n") + "\n");
    fs.writeFileSync(path.join(dir, "warm"), (opts.warm ?? ["ok"]).join("\n") + "\n");
    const upstreamFile = path.join(dir, "conf.d", "upstream-zd.conf");
    if (opts.oldFile !== undefined) {
        fs.mkdirSync(path.dirname(upstreamFile));
        fs.writeFileSync(upstreamFile, opts.oldFile);
    }
    const edge =
        script.edge === undefined ? undefined : { ...script.edge, lockFile: path.join(dir, "edge.lock"), upstreamFile };
    const text = renderDeployScript({ waitSeconds: 20, ...script, edge });
    const r = spawnSync("/bin/bash", ["-c", text], {
        encoding: "utf8",
        env: {
            PATH: `${dir}:${process.env.PATH}`,
            HOME: dir,
            FAKE: dir,
            DROPYARD_WEB_CONTAINERS: Object.keys(states).join(" "),
            DROPYARD_UPSTREAM_FILE: renderUpstreamGroup("zd", Object.keys(states), 8000),
            ...opts.env,
        },
    });
    const calls = fs.existsSync(path.join(dir, "calls"))
        ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n").map(callLine)
        : [];
    return {
        code: r.status ?? -1,
        stdout: r.stdout,
        stderr: r.stderr,
        calls,
        map: fs.existsSync(upstreamFile) ? fs.readFileSync(upstreamFile, "utf8") : undefined,
        tested: fs.existsSync(path.join(dir, "tested"))
            ? fs.readFileSync(path.join(dir, "tested"), "utf8").split("@@\n").slice(0, -1)
            : [],
    };
}

const at = (calls: string[], prefix: string) => calls.findIndex(c => c.startsWith(prefix));

test("renderDeployScript passes bash -n and shellcheck, with and without the edge", () => {
    for (const d of [
        { waitSeconds: 5 },
        {
            waitSeconds: 110,
            edge: {
                ...EDGE,
                lockFile: "/srv/dy/edge.lock",
                upstreamFile: "/srv/dy/nginx/conf.d/upstream-counter.conf",
            },
        },
    ]) {
        assertShellClean(`deploy-${d.waitSeconds}`, renderDeployScript(d));
    }
});

test("healthy containers: the upstream file is written, tested and reloaded, then the old workers are waited for", () => {
    const r = run(
        { edge: EDGE },
        { "web-1-abc": ["running starting", "running healthy"], "web-2-def": ["running healthy"] },
        { drain: ["gone"] },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.map, renderUpstreamGroup("zd", ["web-1-abc", "web-2-def"], 8000));
    const order = [
        "inspect -f {{.State.Status}}",
        "exec zd-nginx sh -c RELOAD_LOOP reload 10",
        "exec zd-nginx sh -c end=",
    ];
    const found = order.map(p => at(r.calls, p));
    assert.ok(found.every(i => i >= 0) && found.every((i, k) => k === 0 || i > found[k - 1]), r.calls.join("\n"));
    assert.equal(
        r.calls.filter(c => c.startsWith("inspect -f {{.State.Status}}")).length,
        3,
        "web-1 polled until healthy, then web-2",
    );
    const drains = r.calls.filter(c => c.startsWith("exec zd-nginx sh -c end="));
    assert.equal(drains.length, 1, "one exec waits in the edge for the old workers (DRAIN_LOOP)");
    assert.ok(drains[0].endsWith(" drain 5 /proc/11/cmdline /proc/12/cmdline"), drains[0]);
    assert.match(
        r.stdout,
        /the edge now sends requests to web-1-abc web-2-def; previous nginx workers finished in \d+s/,
    );
});

test("a live group with other servers: the new ones go in beside them, marked down, then alone, in two reloads", () => {
    const states = { "web-1-abc": ["running healthy"], "web-2-def": ["running healthy"] };
    const final = renderUpstreamGroup("zd", ["web-1-abc", "web-2-def"], 8000);
    const r = run({ edge: EDGE }, states, { oldFile: renderUpstreamGroup("zd", ["0123456789ab"], 8000) });
    assert.equal(r.code, 0, r.stderr);
    const beside = final
        .replace(/ resolve;$/gm, " resolve down;")
        .replace("    keepalive 16;", "    server 0123456789ab:8000 resolve;\n    keepalive 16;");
    assert.deepEqual(r.tested, [beside.trimEnd(), final]);
    assert.equal(r.map, final);
    const reloads = r.calls.flatMap((c, i) => (c === "exec zd-nginx sh -c RELOAD_LOOP reload 10" ? [i] : []));
    assert.equal(reloads.length, 2, r.calls.join("\n"));
    // The workers to drain are those the second reload's loop printed (the stand-in prints /proc/11 and /proc/12).
    assert.ok(at(r.calls, "exec zd-nginx sh -c end=") > reloads[1]);
    assert.ok(r.calls.at(-1)!.endsWith(" drain 5 /proc/11/cmdline /proc/12/cmdline"), r.calls.at(-1));

    // The same servers live already (the step ran again for the same containers), or none: one reload.
    const same = run({ edge: EDGE }, states, { oldFile: final });
    assert.deepEqual(same.tested, [final]);
    const first = run({ edge: EDGE }, states);
    assert.deepEqual(first.tested, [final]);
    // The first reload rejected: the live file is back and the deploy fails before the second.
    const live = renderUpstreamGroup("zd", ["0123456789ab"], 8000);
    const rejected = run({ edge: EDGE }, states, { oldFile: live, env: { FAKE_NGINX_T: "1" } });
    assert.equal(rejected.code, 1);
    assert.equal(rejected.map, live);
    assert.equal(rejected.tested.length, 1);
});

test("an unhealthy container fails with its healthcheck output and log lines; the edge is not touched", () => {
    const r = run(
        { edge: EDGE },
        { "web-1-abc": ["running starting", "running unhealthy"] },
        { oldFile: "previous\n" },
    );
    assert.equal(r.code, 1);
    assert.equal(
        r.stderr,
        [
            "web container web-1-abc is unhealthy; the previous containers keep serving",
            "--- last healthcheck output ---",
            "healthz answered 500: broken on purpose",
            "--- last 10 log lines of web-1-abc ---",
            "booting web-1-abc",
            "listening on 8000",
            "",
        ].join("\n"),
    );
    assert.equal(r.map, "previous\n");
    assert.equal(at(r.calls, "exec"), -1);
});

test("a starting container is probed with its own check and passes when it answers, before Docker's first interval", () => {
    const probes = {
        "web-1-abc": { test: ["CMD-SHELL", "curl -f localhost:8000/up"], answers: ["fail", "fail", "ok"] },
    };
    const r = run({ edge: EDGE }, { "web-1-abc": ["running starting"] }, { probes });
    assert.equal(r.code, 0, r.stderr);
    const checks = r.calls.filter(c => c.startsWith("exec web-1-abc"));
    // One exec per turn of up to 5 s, repeating the check inside the container (PROBE_LOOP).
    assert.equal(checks.length, 3, r.calls.join("\n"));
    for (const c of checks)
        assert.match(c, /^exec web-1-abc \/bin\/sh -c end=.* probe 5 \/bin\/sh -c curl -f localhost:8000\/up$/);
    assert.ok(
        at(r.calls, "exec zd-nginx sh -c RELOAD_LOOP") > r.calls.lastIndexOf(checks[0]),
        "the edge moves only after the check passed",
    );
    // An argument-list check runs as its arguments; one that never passes leaves the wait to fail as before.
    const list = { "web-1-abc": { test: ["CMD", "/bin/check", "--port", "8000"], answers: ["fail"] } };
    const never = run(
        { edge: EDGE, waitSeconds: 1 },
        { "web-1-abc": ["running starting"] },
        { probes: list, oldFile: "previous\n" },
    );
    assert.equal(never.code, 1);
    assert.match(never.stderr, /^web container web-1-abc is not healthy after 1s;/);
    assert.ok(
        never.calls.some(c => /^exec web-1-abc \/bin\/sh -c end=.* probe 1 \/bin\/check --port 8000$/.test(c)),
        never.calls.join("\n"),
    );
    assert.equal(never.map, "previous\n");
    // An image without /bin/sh: the check runs directly, once a call.
    const bare = run(
        { edge: EDGE },
        { "web-1-abc": ["running starting"] },
        { probes: { "web-1-abc": { test: ["CMD", "/bin/check"], answers: ["ok"] } }, env: { FAKE_NO_SH: "1" } },
    );
    assert.equal(bare.code, 0, bare.stderr);
    assert.deepEqual(bare.calls.filter(c => c.startsWith("exec web-1-abc")).slice(-1), ["exec web-1-abc /bin/check"]);
});

test("PROBE_LOOP (sh) repeats the command until it passes, and fails when the seconds are up", async () => {
    const dir = fs.mkdtempSync(path.join(work, "probe-"));
    const count = path.join(dir, "count");
    // Passes on the third run.
    const check = `n=$(cat ${count} 2>/dev/null || echo 0); n=$((n + 1)); echo $n > ${count}; [ $n -ge 3 ]`;
    const passes = await loop("sh", PROBE_LOOP, ["10", "sh", "-c", check]);
    assert.equal(passes.code, 0);
    assert.equal(fs.readFileSync(count, "utf8").trim(), "3");
    const fails = await loop("sh", PROBE_LOOP, ["1", "false"]);
    assert.equal(fails.code, 1);
});

test("a container that stopped fails at once; one still starting when the time is up fails with the wait", () => {
    const stopped = run({}, { "web-1-abc": ["exited none"] });
    assert.equal(stopped.code, 1);
    assert.match(
        stopped.stderr,
        /^web container web-1-abc is not running \(exited\); the previous containers keep serving\n/,
    );
    const slow = run({ waitSeconds: 1 }, { "web-1-abc": ["running starting"] });
    assert.equal(slow.code, 1);
    assert.match(slow.stderr, /^web container web-1-abc is not healthy after 1s;/);
    const missing = run({}, { "web-1-abc": ["running healthy"] }, { env: { DROPYARD_WEB_CONTAINERS: "gone-1" } });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /web container gone-1: Error: No such object: gone-1/);
});

test("without the edge, the script stops after the health check", () => {
    const r = run({}, { "w-1": ["running none"], "w-2": ["running healthy"] });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "healthy: w-1 w-2\n");
    assert.equal(at(r.calls, "exec"), -1);
});

test("an upstream file nginx rejects is put back and the deploy fails with nginx's message, without a reload", () => {
    const r = run(
        { edge: EDGE },
        { "web-1-abc": ["running healthy"] },
        { oldFile: "previous\n", env: { FAKE_NGINX_T: "1" } },
    );
    assert.equal(r.code, 1);
    assert.match(
        r.stderr,
        /nginx -t in zd-nginx rejected the new upstream file; the previous one is back in place:\nnginx: \[emerg\] unknown variable/,
    );
    assert.equal(r.map, "previous\n");
    assert.equal(r.tested.length, 1, "checked once, in the reload loop, which stops before its reload");
    assert.equal(at(r.calls, "exec zd-nginx sh -c end="), -1, "nothing to drain");
});

test("a stopped edge fails the deploy and leaves no new file behind", () => {
    const r = run({ edge: EDGE }, { "web-1-abc": ["running healthy"] }, { env: { FAKE_EDGE_RUNNING: "false" } });
    assert.equal(r.code, 1);
    assert.match(
        r.stderr,
        /the edge nginx container zd-nginx is not running; start it \(docker start zd-nginx\) and deploy again/,
    );
    assert.equal(r.map, undefined);
});

test("old workers that outlive the drain time (websockets) are left; the deploy goes on", () => {
    const r = run({ edge: { ...EDGE, drainSeconds: 1 } }, { "web-1-abc": ["running healthy"] }, { drain: ["still"] });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /previous nginx workers still have open connections \(websockets\?\) after 1s; going on/);
});

test("before the switch each new container is asked for a first HTTP answer from the edge, on the web port", () => {
    const r = run(
        { edge: EDGE },
        { "web-1-abc": ["running healthy"], "web-2-def": ["running healthy"] },
        { warm: ["ok", "ok"] },
    );
    assert.equal(r.code, 0, r.stderr);
    const warms = r.calls.filter(c => c.startsWith("exec zd-nginx bash -c end="));
    assert.equal(warms.length, 2, "one exec per container waits in the edge for its answer (WARM_LOOP)");
    assert.match(warms[0], /\/dev\/tcp\/\$1\/\$2.*HEAD \/ HTTP\/1\.0.* warm web-1-abc 8000 \d+$/s);
    assert.match(warms[1], / warm web-2-def 8000 \d+$/);
    assert.ok(at(r.calls, "exec zd-nginx bash -c end=") > at(r.calls, "inspect -f {{.State.Status}}"));
    assert.ok(
        r.calls.lastIndexOf(warms[1]) < at(r.calls, "exec zd-nginx sh -c RELOAD_LOOP"),
        "answers come before the switch",
    );
});

/** Runs one of the in-edge loops with a real shell, asynchronously (a server in this process answers meanwhile). */
function loop(shell: string, script: string, args: string[]): Promise<{ code: number; ms: number }> {
    const started = Date.now();
    return new Promise(resolve => {
        const p = spawn(shell, ["-c", script, "loop", ...args], { stdio: "ignore" });
        p.on("exit", code => resolve({ code: code ?? -1, ms: Date.now() - started }));
    });
}

test("WARM_LOOP (bash) keeps asking until a server answers, and gives up when the seconds are up", async () => {
    const server = http.createServer((_, res) => res.end("ok"));
    await new Promise<void>(r => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    server.close(); // nothing listens on the port for now
    const waiting = loop("bash", WARM_LOOP, ["127.0.0.1", String(port), "10"]);
    await new Promise(r => setTimeout(r, 700));
    await new Promise<void>(r => server.listen(port, "127.0.0.1", r));
    const answered = await waiting;
    server.close();
    assert.equal(answered.code, 0);
    assert.ok(answered.ms >= 700, `${answered.ms} ms: it answered before the server listened`);
    const never = await loop("bash", WARM_LOOP, ["127.0.0.1", String(port), "1"]);
    assert.equal(never.code, 3);
});

test("DRAIN_LOOP (sh) returns once the files are gone, and fails when the seconds are up first", async () => {
    const dir = fs.mkdtempSync(path.join(work, "drain-"));
    const files = ["11", "12"].map(f => path.join(dir, f));
    for (const f of files) fs.writeFileSync(f, "");
    const waiting = loop("sh", DRAIN_LOOP, ["10", ...files]);
    await new Promise(r => setTimeout(r, 300));
    fs.rmSync(files[0]);
    await new Promise(r => setTimeout(r, 300));
    fs.rmSync(files[1]);
    const gone = await waiting;
    assert.equal(gone.code, 0);
    assert.ok(gone.ms >= 600, `${gone.ms} ms: it returned while a file was there`);
    fs.writeFileSync(files[0], "");
    const stays = await loop("sh", DRAIN_LOOP, ["1", ...files]);
    assert.equal(stays.code, 1);
});

test("a container with no HTTP answer by the end of the wait gets a warning and the switch; no bash, no asking", () => {
    const silent = run({ waitSeconds: 1, edge: EDGE }, { "web-1-abc": ["running healthy"] }, { warm: ["no"] });
    assert.equal(silent.code, 0, silent.stderr);
    assert.match(silent.stderr, /warning: web container web-1-abc gave no HTTP answer within the 1s wait/);
    assert.equal(silent.map, renderUpstreamGroup("zd", ["web-1-abc"], 8000));
    const noBash = run({ edge: EDGE }, { "web-1-abc": ["running healthy"] }, { env: { FAKE_EDGE_BASH: "0" } });
    assert.equal(noBash.code, 0, noBash.stderr);
    assert.equal(noBash.calls.filter(c => c.startsWith("exec zd-nginx bash -c end=")).length, 1, "one try, refused");
    assert.doesNotMatch(noBash.stderr, /warning/);
    assert.equal(noBash.map, renderUpstreamGroup("zd", ["web-1-abc"], 8000));
});

test("renderUpstreamGroup refuses a name nginx could not resolve as one container, and a port that is none", () => {
    assert.throws(() => renderUpstreamGroup("zd", ["a; include /etc/passwd"], 8000), /is not a container name/);
    assert.throws(() => renderUpstreamGroup("zd", ["web-1-abc"], 0), /port 0/);
    assert.throws(() => renderUpstreamGroup("zd", [], 8000), /no servers/);
});

test("renderUpstreamGroup: one group per App, a server per container by its short id, keeping connections open", () => {
    const text = renderUpstreamGroup("my-app", ["0123456789ab", "ba9876543210"], 3000);
    assert.match(text, /^upstream dropyard_my_app \{$/m);
    assert.match(text, /^ {4}zone dropyard_my_app 64k;$/m);
    assert.match(text, /^ {4}server 0123456789ab:3000 resolve;\n {4}server ba9876543210:3000 resolve;$/m);
    assert.equal(shortId("0123456789abcdef0123"), "0123456789ab");
    assert.match(text, /^ {4}resolver 127\.0\.0\.11 valid=5s ipv6=off;$/m);
    assert.match(text, /^ {4}keepalive 16;$/m);
});

// The App's group file itself needs nginx 1.27.3 or later (`resolve`), newer than the host's Debian nginx:
// test/e2e/edge-group.test.ts runs it in the edge image.
test("a vhost proxying to an App names the App's upstream group and passes a real nginx -t", async () => {
    assert.ok(fs.existsSync(NGINX), "run scripts/test-tools.sh first: it installs Debian's nginx");
    const build = fs.mkdtempSync(path.join(work, "app-"));
    fs.writeFileSync(path.join(build, "Dockerfile"), "FROM python:3.13-slim\n");
    let host: Host | undefined;
    let vhost: NginxVhost | undefined;
    await evaluate(() => {
        host = localHost("box", { dataDir: path.join(work, "data") });
        const app = new App("my-app", { host, build, port: 8000 });
        vhost = new NginxVhost("site", { host, domains: ["app.example.com"], upstream: app, tls: "self-signed" });
    });
    assert.match(vhost!.config, /set \$upstream http:\/\/dropyard_my_app;/);
    const root = makeRoot();
    for (const [name, text] of Object.entries({
        "00-dropyard.conf": host!.edge.defaultConfig,
        "vhost-site.conf": vhost!.config,
    })) {
        fs.writeFileSync(path.join(root, "conf.d", name), chroot(text, root));
    }
    stubCert(
        root,
        /ssl_certificate (\S+);/.exec(vhost!.config)![1],
        /ssl_certificate_key (\S+);/.exec(vhost!.config)![1],
    );
    const r = nginxT(root);
    assert.ok(r.ok, r.output);
});
