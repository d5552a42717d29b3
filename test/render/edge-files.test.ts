// RELOAD_LOOP (lib/render/edge-files.ts), run by sh here as the edge runs it, over a stand-in /proc and a
// stand-in nginx: after `nginx -s reload` it waits until every nginx worker accepting connections started after
// the signal, so a vhost written by a host command is served when the command ends, and prints the workers
// alive before it for a drain. Below, the rest of the edge's file protocol.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { EdgeChange, RELOAD_LOOP, renderEdgeScript } from "../../lib/render/edge-files";
import { callLine } from "../support/fake-commands";
import { tempDir } from "../support/fixtures";

const work = tempDir("dropyard-reload-");

// `nginx -t`: fails when FAKE_NGINX_T is set. `nginx -s reload`: fails while "$FAKE/failures" counts down (no pid
// file yet), then starts workers 21 and 22 in "$FAKE/proc"; 0.3 s later the workers before it stop accepting (11:
// "is shutting down") or end (12), unless FAKE_OLD_STAY is set. Each process's cmdline is its title padded with
// NULs, as nginx sets it.
const FAKE_NGINX = `#!/bin/bash
if [ "$*" = -t ]; then [ -z "\${FAKE_NGINX_T:-}" ] || { echo "nginx: [emerg] broken" >&2; exit 1; }; exit 0; fi
[ "$*" = "-s reload" ] || exit 2
n=$(cat "$FAKE/failures" 2>/dev/null || echo 0)
if [ "$n" -gt 0 ]; then echo $((n - 1)) > "$FAKE/failures"; echo 'open() "/run/nginx.pid" failed' >&2; exit 1; fi
title() { mkdir -p "$FAKE/proc/$1"; printf '%s\\0\\0\\0\\0' "$2" > "$FAKE/proc/$1/cmdline"; }
title 21 "nginx: worker process"; title 22 "nginx: worker process"
if [ -z "\${FAKE_OLD_STAY:-}" ]; then
    # Not holding the test's output pipe: the test reads the processes as they are when the loop returned.
    (sleep 0.3; title 11 "nginx: worker process is shutting down"; rm -rf "$FAKE/proc/12") >/dev/null 2>&1 &
fi
`;

function title(dir: string, pid: number, text: string): void {
    fs.mkdirSync(path.join(dir, "proc", String(pid)), { recursive: true });
    fs.writeFileSync(path.join(dir, "proc", String(pid), "cmdline"), `${text}\0\0\0\0`);
}

/** RELOAD_LOOP over a stand-in /proc holding `procs` (pid: title), with `failures` failed reloads first. */
function reloadLoop(
    procs: Record<number, string>,
    opts: { seconds?: number; failures?: number; oldStay?: boolean; rejects?: boolean } = {},
): { code: number | null; stdout: string; stderr: string; cmdline: (pid: number) => string | undefined } {
    const dir = fs.mkdtempSync(path.join(work, "loop-"));
    fs.mkdirSync(path.join(dir, "proc"));
    fs.mkdirSync(path.join(dir, "bin"));
    fs.writeFileSync(path.join(dir, "bin", "nginx"), FAKE_NGINX, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "failures"), String(opts.failures ?? 0));
    for (const [pid, text] of Object.entries(procs)) title(dir, Number(pid), text);
    const r = spawnSync("sh", ["-c", RELOAD_LOOP, "reload", String(opts.seconds ?? 10), path.join(dir, "proc")], {
        encoding: "utf8",
        env: {
            PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
            FAKE: dir,
            ...(opts.oldStay ? { FAKE_OLD_STAY: "1" } : {}),
            ...(opts.rejects ? { FAKE_NGINX_T: "1" } : {}),
        },
    });
    const cmdline = (pid: number) => {
        const f = path.join(dir, "proc", String(pid), "cmdline");
        return fs.existsSync(f) ? fs.readFileSync(f, "utf8").replace(/\0+$/, "") : undefined;
    };
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, cmdline };
}

const MASTER = "nginx: master process nginx -g daemon off;";

test("RELOAD_LOOP reloads, prints the workers alive before, and returns once only new workers accept connections", () => {
    const r = reloadLoop({
        10: MASTER,
        11: "nginx: worker process",
        12: "nginx: worker process",
        9: "nginx: worker process is shutting down", // from a reload before, still finishing its requests
    });
    assert.equal(r.code, 0, r.stderr);
    const proc = (pid: number) => new RegExp(`/proc/${pid}/cmdline`);
    for (const pid of [9, 11, 12]) assert.match(r.stdout, proc(pid), "a worker alive before the reload");
    for (const pid of [10, 21, 22]) assert.doesNotMatch(r.stdout, proc(pid));
    // It returned after the old workers stopped accepting, not as soon as the new ones were there.
    assert.equal(r.cmdline(11), "nginx: worker process is shutting down");
    assert.equal(r.cmdline(12), undefined);
});

test("RELOAD_LOOP checks first: when nginx -t fails it prints nginx's words and exits 2 without a reload", () => {
    const r = reloadLoop({ 10: MASTER, 11: "nginx: worker process" }, { rejects: true });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "nginx: [emerg] broken\n");
    assert.equal(r.cmdline(21), undefined, "no new workers: it did not reload");
    assert.equal(r.cmdline(11), "nginx: worker process");
});

test("RELOAD_LOOP retries a reload nginx refuses at first (no pid file yet)", () => {
    // Giving up takes 15 s (1 + 2 + ... + 5): its exit status 3 is mapped in nginx.test.ts.
    const retried = reloadLoop({ 10: MASTER, 11: "nginx: worker process" }, { failures: 1 });
    assert.equal(retried.code, 0, retried.stderr);
    assert.equal(retried.cmdline(21), "nginx: worker process");
});

test("RELOAD_LOOP does not wait without workers to watch, and says so when old ones still accept after the seconds", () => {
    const none = reloadLoop({});
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout.trim(), "");
    const stuck = reloadLoop({ 10: MASTER, 11: "nginx: worker process" }, { oldStay: true, seconds: 1 });
    assert.equal(stuck.code, 4);
    assert.match(stuck.stdout, /\/proc\/11\/cmdline/);
});

// The rest of the protocol (renderEdgeChange): run against a fake `docker` whose edge runs, and runs what it is
// asked to here, RELOAD_LOOP over an empty stand-in /proc; its `nginx` logs each call, and its `nginx -t` fails when
// FAKE_NGINX_T is 1. With FAKE_NO_SH set the edge image has no sh (docker exec exits 126); with FAKE_EXEC_GONE
// every exec fails as docker's does for a stopped container (exit 1).
const FAKE_EDGE = `#!/bin/bash
call="$*"; printf '%s\\n' "\${call//$'\\n'/ }" >> "$FAKE/calls"
case "$1" in
    inspect) echo true ;;
    exec) shift 2
        # FAKE_EXEC_GONE: the edge stopped between the inspect and the exec.
        if [ -n "\${FAKE_EXEC_GONE:-}" ]; then echo "Error response from daemon: container is not running" >&2; exit 1; fi
        if [ "$1" = sh ]; then [ -z "\${FAKE_NO_SH:-}" ] || exit 126; exec sh -c "$3" "$4" "$5" "$FAKE/proc"; fi
        exec "$@" ;;
esac
`;
const FAKE_EDGE_NGINX = `#!/bin/bash
echo "$*" >> "$FAKE/nginx.log"
if [ "$*" = -t ] && [ "\${FAKE_NGINX_T:-0}" = 1 ]; then echo "nginx: [emerg] broken" >&2; exit 1; fi
`;

function change(
    c: Omit<EdgeChange, "edge">,
    env: Record<string, string> = {},
): { code: number | null; stderr: string; dir: string; calls: string[]; nginx: string[] } {
    const dir = fs.mkdtempSync(path.join(work, "change-"));
    fs.writeFileSync(path.join(dir, "docker"), FAKE_EDGE, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "nginx"), FAKE_EDGE_NGINX, { mode: 0o755 });
    fs.mkdirSync(path.join(dir, "proc"));
    const script = renderEdgeScript({ edge: { container: "box-nginx", lockFile: path.join(dir, "edge.lock") }, ...c });
    const r = spawnSync("/bin/bash", ["-c", script], {
        encoding: "utf8",
        env: { PATH: `${dir}:${process.env.PATH}`, HOME: dir, FAKE: dir, ...env },
    });
    const lines = (f: string) =>
        fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), "utf8").trim().split("\n") : [];
    return { code: r.status, stderr: r.stderr, dir, calls: lines("calls").map(callLine), nginx: lines("nginx.log") };
}

test("edge change: a file's content can come from an environment variable of the host command", () => {
    const file = path.join(work, "from-env.conf");
    const r = change(
        { put: [{ path: file, content: { env: "DROPYARD_TEST_FILE" } }], whenStopped: "fail" },
        { DROPYARD_TEST_FILE: "map {}\n" },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.readFileSync(file, "utf8"), "map {}\n");
    assert.equal(fs.statSync(file).mode & 0o777, 0o644);
    // nginx -t and the reload in one exec.
    assert.deepEqual(
        r.calls.filter(c => c.startsWith("exec")),
        ["exec box-nginx sh -c RELOAD_LOOP reload 10"],
    );
    assert.deepEqual(r.nginx, ["-t", "-s reload"]);
});

test("edge change: a removal nginx rejects puts the files back and fails without a reload", () => {
    const dir = fs.mkdtempSync(path.join(work, "owned-"));
    const file = path.join(dir, "vhost.conf");
    fs.writeFileSync(file, "server {}\n");
    const r = change({ remove: [file], removeDirs: [dir], whenStopped: "skip" }, { FAKE_NGINX_T: "1" });
    assert.equal(r.code, 1);
    assert.match(
        r.stderr,
        /nginx -t in box-nginx rejected the new configuration; the previous files are back in place:\nnginx: \[emerg\] broken/,
    );
    assert.equal(fs.readFileSync(file, "utf8"), "server {}\n");
    assert.deepEqual(fs.readdirSync(dir), ["vhost.conf"], "no copies left behind");
    assert.deepEqual(r.nginx, ["-t"], "rejected, it was not reloaded");
    // Accepted, the file goes and so does the directory it leaves empty.
    assert.equal(change({ remove: [file], removeDirs: [dir], whenStopped: "skip" }).code, 0);
    assert.ok(!fs.existsSync(dir));
});

test("edge change: an edge image without sh gets nginx -t and a plain reload, and a rejection there restores the files", () => {
    const dir = fs.mkdtempSync(path.join(work, "no-sh-"));
    const file = path.join(dir, "vhost.conf");
    fs.writeFileSync(file, "server {}\n");
    const put = { put: [{ path: file, content: "server { listen 81; }\n" }], whenStopped: "fail" } as const;
    const r = change(put, { FAKE_NO_SH: "1" });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
        r.calls.filter(c => c.startsWith("exec")),
        ["exec box-nginx sh -c RELOAD_LOOP reload 10", "exec box-nginx nginx -t", "exec box-nginx nginx -s reload"],
    );
    assert.equal(fs.readFileSync(file, "utf8"), "server { listen 81; }\n");
    const rejected = change(
        { ...put, put: [{ path: file, content: "broken\n" }] },
        { FAKE_NO_SH: "1", FAKE_NGINX_T: "1" },
    );
    assert.equal(rejected.code, 1);
    assert.match(
        rejected.stderr,
        /nginx -t in box-nginx rejected the new configuration;[^\n]*\nnginx: \[emerg\] broken/,
    );
    assert.equal(fs.readFileSync(file, "utf8"), "server { listen 81; }\n");
    assert.deepEqual(rejected.nginx, ["-t"]);
});

test("edge change: an edge that cannot be reached by docker exec gets the files put back, and says so", () => {
    const dir = fs.mkdtempSync(path.join(work, "gone-"));
    const file = path.join(dir, "vhost.conf");
    fs.writeFileSync(file, "server {}\n");
    const r = change(
        { put: [{ path: file, content: "server { listen 81; }\n" }], whenStopped: "fail" },
        {
            FAKE_EXEC_GONE: "1",
        },
    );
    assert.equal(r.code, 1);
    assert.match(
        r.stderr,
        /container is not running\nnginx in box-nginx could not be reached \(docker exec exited 1\); the previous files are back in place\n$/,
    );
    assert.equal(fs.readFileSync(file, "utf8"), "server {}\n");
    assert.deepEqual(fs.readdirSync(dir), ["vhost.conf"], "no copies left behind");
    // With nothing to change, the failure is docker's, passed on.
    const reload = change({ whenStopped: "fail" }, { FAKE_EXEC_GONE: "1" });
    assert.equal(reload.code, 1);
    assert.match(reload.stderr, /nginx in box-nginx was not reloaded \(docker exec exited 1\)\n$/);
});
