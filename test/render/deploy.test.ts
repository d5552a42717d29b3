// The deploy step's script (lib/render/deploy.ts): bash -n and shellcheck, then run by bash against a
// fake `docker` that plays the new web containers and the edge, so each branch is seen doing what it
// says (and the order of health, nginx -t, reload and drain). Last, the App's upstream file and a vhost
// proxying through its variable go through a real `nginx -t` (Debian's nginx, from scripts/test-tools.sh).
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { assertShellClean } from "../support/shellcheck";
import { evaluate } from "../../sandbox/harness";
import { App, Host, NginxVhost } from "../../lib";
import { DeployScript, renderDeployScript, renderUpstreamMap } from "../../lib/render/deploy";
import { tempDir, localHost } from "../support/fixtures";
import { chroot, makeRoot, NGINX, nginxT, stubCert } from "../support/nginx";

const work = tempDir("dropyard-deploy-");

// Container states come from "$FAKE/state-<name>", one line per `docker inspect`, the last one repeating.
const FAKE_DOCKER = `#!/bin/bash
printf '%s\\n' "$*" >> "$FAKE/calls"
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
    "exec web-"*) [ "$(next "$FAKE/probe-$2")" = ok ] ;;
    "logs --tail") printf 'booting %s\\nlistening on 8000\\n' "$4" ;;
    "exec zd-nginx")
        case "$3 $4" in
            "nginx -t") if [ "\${FAKE_NGINX_T:-0}" = 0 ]; then echo "test is successful"; else echo "nginx: [emerg] unknown variable"; exit 1; fi ;;
            "nginx -s") : ;;
            "bash -c") [ "\${FAKE_EDGE_BASH:-1}" = 1 ] || exit 127; [ "$5" = : ] || [ "$(next "$FAKE/warm")" = ok ] ;;
            "sh -c") case "$5" in
                grep*) printf '/proc/11/cmdline\\n/proc/12/cmdline\\n' ;;
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
}

const EDGE: NonNullable<DeployScript["edge"]> = {
    container: "zd-nginx",
    lockFile: "",
    mapFile: "",
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
        oldMap?: string;
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
    const mapFile = path.join(dir, "conf.d", "upstream-zd.conf");
    if (opts.oldMap !== undefined) {
        fs.mkdirSync(path.dirname(mapFile));
        fs.writeFileSync(mapFile, opts.oldMap);
    }
    const edge =
        script.edge === undefined ? undefined : { ...script.edge, lockFile: path.join(dir, "edge.lock"), mapFile };
    const text = renderDeployScript({ waitSeconds: 20, ...script, edge });
    const r = spawnSync("/bin/bash", ["-c", text], {
        encoding: "utf8",
        env: {
            PATH: `${dir}:${process.env.PATH}`,
            HOME: dir,
            FAKE: dir,
            DROPYARD_WEB_CONTAINERS: Object.keys(states).join(" "),
            DROPYARD_UPSTREAM_MAP: renderUpstreamMap("zd", Object.keys(states)[0] ?? "none"),
            ...opts.env,
        },
    });
    const calls = fs.existsSync(path.join(dir, "calls"))
        ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n")
        : [];
    return {
        code: r.status ?? -1,
        stdout: r.stdout,
        stderr: r.stderr,
        calls,
        map: fs.existsSync(mapFile) ? fs.readFileSync(mapFile, "utf8") : undefined,
    };
}

const at = (calls: string[], prefix: string) => calls.findIndex(c => c.startsWith(prefix));

test("renderDeployScript passes bash -n and shellcheck, with and without the edge", () => {
    for (const d of [
        { waitSeconds: 5 },
        {
            waitSeconds: 110,
            edge: { ...EDGE, lockFile: "/srv/dy/edge.lock", mapFile: "/srv/dy/nginx/conf.d/upstream-counter.conf" },
        },
    ]) {
        assertShellClean(`deploy-${d.waitSeconds}`, renderDeployScript(d));
    }
});

test("healthy containers: the map is written, tested and reloaded, then the old workers are waited for", () => {
    const r = run(
        { edge: EDGE },
        { "web-1-abc": ["running starting", "running healthy"], "web-2-def": ["running healthy"] },
        { drain: ["still", "still", "gone"] },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.map, renderUpstreamMap("zd", "web-1-abc"));
    const order = [
        "inspect -f {{.State.Status}}",
        "exec zd-nginx nginx -t",
        "exec zd-nginx sh -c grep",
        "exec zd-nginx nginx -s reload",
        "exec zd-nginx sh -c for f",
    ];
    const found = order.map(p => at(r.calls, p));
    assert.ok(found.every(i => i >= 0) && found.every((i, k) => k === 0 || i > found[k - 1]), r.calls.join("\n"));
    assert.equal(
        r.calls.filter(c => c.startsWith("inspect -f {{.State.Status}}")).length,
        3,
        "web-1 polled until healthy, then web-2",
    );
    assert.equal(
        r.calls.filter(c => c.startsWith("exec zd-nginx sh -c for f")).length,
        3,
        "the drain check repeats until the old workers are gone",
    );
    assert.ok(
        r.calls.find(c => c.startsWith("exec zd-nginx sh -c for f"))!.endsWith("sh /proc/11/cmdline /proc/12/cmdline"),
    );
    assert.match(
        r.stdout,
        /the edge now sends requests to web-1-abc web-2-def; previous nginx workers finished in \d+s/,
    );
});

test("an unhealthy container fails with its healthcheck output and log lines; the edge is not touched", () => {
    const r = run({ edge: EDGE }, { "web-1-abc": ["running starting", "running unhealthy"] }, { oldMap: "previous\n" });
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
    assert.deepEqual(checks, Array(3).fill("exec web-1-abc /bin/sh -c curl -f localhost:8000/up"), r.calls.join("\n"));
    assert.ok(
        at(r.calls, "exec zd-nginx nginx -t") > r.calls.lastIndexOf(checks[0]),
        "the edge moves only after the check passed",
    );
    // An argument-list check runs as its arguments; one that never passes leaves the wait to fail as before.
    const list = { "web-1-abc": { test: ["CMD", "/bin/check", "--port", "8000"], answers: ["fail"] } };
    const never = run(
        { edge: EDGE, waitSeconds: 1 },
        { "web-1-abc": ["running starting"] },
        { probes: list, oldMap: "previous\n" },
    );
    assert.equal(never.code, 1);
    assert.match(never.stderr, /^web container web-1-abc is not healthy after 1s;/);
    assert.ok(never.calls.includes("exec web-1-abc /bin/check --port 8000"), never.calls.join("\n"));
    assert.equal(never.map, "previous\n");
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

test("a map nginx rejects is put back and the deploy fails with nginx's message, without a reload", () => {
    const r = run(
        { edge: EDGE },
        { "web-1-abc": ["running healthy"] },
        { oldMap: "previous\n", env: { FAKE_NGINX_T: "1" } },
    );
    assert.equal(r.code, 1);
    assert.match(
        r.stderr,
        /nginx -t in zd-nginx rejected the new upstream file; the previous one is back in place:\nnginx: \[emerg\] unknown variable/,
    );
    assert.equal(r.map, "previous\n");
    assert.equal(at(r.calls, "exec zd-nginx nginx -s reload"), -1);
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
        { warm: ["no", "no", "ok", "ok"] },
    );
    assert.equal(r.code, 0, r.stderr);
    const warms = r.calls.filter(c => c.startsWith("exec zd-nginx bash -c exec 3<>"));
    assert.equal(warms.length, 4, "web-1 asked until it answers, then web-2");
    assert.match(warms[0], /\/dev\/tcp\/\$1\/\$2.*HEAD \/ HTTP\/1\.0.* warm web-1-abc 8000 \d+$/);
    assert.match(warms[3], / warm web-2-def 8000 \d+$/);
    assert.ok(at(r.calls, "exec zd-nginx bash -c exec 3<>") > at(r.calls, "inspect -f {{.State.Status}}"));
    assert.ok(r.calls.lastIndexOf(warms[3]) < at(r.calls, "exec zd-nginx nginx -t"), "answers come before the switch");
});

test("a container with no HTTP answer by the end of the wait gets a warning and the switch; no bash, no asking", () => {
    const silent = run({ waitSeconds: 1, edge: EDGE }, { "web-1-abc": ["running healthy"] }, { warm: ["no"] });
    assert.equal(silent.code, 0, silent.stderr);
    assert.match(silent.stderr, /warning: web container web-1-abc gave no HTTP answer within the 1s wait/);
    assert.equal(silent.map, renderUpstreamMap("zd", "web-1-abc"));
    const noBash = run({ edge: EDGE }, { "web-1-abc": ["running healthy"] }, { env: { FAKE_EDGE_BASH: "0" } });
    assert.equal(noBash.code, 0, noBash.stderr);
    assert.equal(at(noBash.calls, "exec zd-nginx bash -c exec"), -1);
    assert.equal(noBash.map, renderUpstreamMap("zd", "web-1-abc"));
});

test("renderUpstreamMap refuses a name nginx could not resolve as one container", () => {
    assert.throws(() => renderUpstreamMap("zd", "a; include /etc/passwd"), /is not a container name/);
});

test("the App's upstream file and a vhost proxying through its variable pass a real nginx -t; the vhost alone does not", async () => {
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
    const nginxTest = (files: Record<string, string>) => {
        const root = makeRoot();
        for (const [name, text] of Object.entries(files)) {
            fs.writeFileSync(path.join(root, "conf.d", name), chroot(text, root));
        }
        stubCert(
            root,
            /ssl_certificate (\S+);/.exec(vhost!.config)![1],
            /ssl_certificate_key (\S+);/.exec(vhost!.config)![1],
        );
        return nginxT(root);
    };
    const files = { "00-dropyard.conf": host!.edge.defaultConfig, "vhost-site.conf": vhost!.config };
    const withMap = nginxTest({
        ...files,
        "upstream-my-app.conf": renderUpstreamMap("my-app", "my-app-web-1-abc1234"),
    });
    assert.ok(withMap.ok, withMap.output);
    const without = nginxTest(files);
    assert.equal(without.ok, false);
    assert.match(without.output, /unknown "dropyard_upstream_my_app" variable/);
});
