// reload_edge (lib/render/edge-files.ts): after `nginx -s reload` it waits until every nginx worker accepting
// connections started after the signal, so a vhost written by a host command is served when the command
// ends. Run by bash against a fake `docker` whose `docker top` shows the edge's processes call by call.
// Below, the rest of the edge's file protocol.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { EdgeChange, RELOAD_FUNCTION, renderEdgeScript } from "../../lib/render/edge-files";
import { tempDir } from "../support/fixtures";

const work = tempDir("dropyard-reload-");

// `docker top` prints "$FAKE/top.<n>" on its n-th call (the last one again once they run out).
const FAKE_DOCKER = `#!/bin/bash
printf '%s\\n' "$*" >> "$FAKE/calls"
if [ "$1" = top ]; then
    n=$(cat "$FAKE/top.n" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$FAKE/top.n"
    last=$(find "$FAKE" -name 'top.[0-9]*' | wc -l)
    cat "$FAKE/top.$(( n < last ? n : last ))"
fi
`;

const top = (...rows: string[]) =>
    ["PID                 COMMAND", ...rows.map(r => r.replace(" ", "                "))].join("\n") + "\n";
const MASTER = "10 nginx: master process nginx -g daemon off;";

function reload(tops: string[]): { code: number | null; stderr: string; calls: string[] } {
    const dir = fs.mkdtempSync(path.join(work, "run-"));
    fs.writeFileSync(path.join(dir, "docker"), FAKE_DOCKER, { mode: 0o755 });
    tops.forEach((t, i) => fs.writeFileSync(path.join(dir, `top.${i + 1}`), t));
    const r = spawnSync("/bin/bash", ["-c", `set -euo pipefail\nedge=box-nginx\n${RELOAD_FUNCTION}\nreload_edge`], {
        encoding: "utf8",
        env: { PATH: `${dir}:${process.env.PATH}`, HOME: dir, FAKE: dir },
    });
    return {
        code: r.status,
        stderr: r.stderr,
        calls: fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n"),
    };
}

test("reload_edge returns once only workers started after the reload accept connections", () => {
    const r = reload([
        top(MASTER, "11 nginx: worker process", "12 nginx: worker process"),
        // Just after the signal: the new workers run, and the old ones still accept.
        top(
            MASTER,
            "11 nginx: worker process",
            "12 nginx: worker process",
            "21 nginx: worker process",
            "22 nginx: worker process",
        ),
        // The old ones stopped accepting and finish their requests.
        top(
            MASTER,
            "11 nginx: worker process is shutting down",
            "21 nginx: worker process",
            "22 nginx: worker process",
        ),
        top(MASTER, "21 nginx: worker process", "22 nginx: worker process"),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /warning/);
    assert.deepEqual(r.calls, [
        "top box-nginx -o pid,args",
        "exec box-nginx nginx -s reload",
        "top box-nginx -o pid,args",
        "top box-nginx -o pid,args",
    ]);
});

test("reload_edge does not wait when docker top shows no workers (no ps on the host, say)", () => {
    const r = reload([""]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.calls, ["top box-nginx -o pid,args", "exec box-nginx nginx -s reload"]);
});

// The rest of the protocol (renderEdgeChange): run against a fake `docker` whose edge runs, and
// whose `nginx -t` fails when FAKE_NGINX_T is 1.
const FAKE_EDGE = `#!/bin/bash
printf '%s\\n' "$*" >> "$FAKE/calls"
case "$1" in
    inspect) echo true ;;
    exec) if [ "$3 $4" = "nginx -t" ] && [ "\${FAKE_NGINX_T:-0}" = 1 ]; then echo "nginx: [emerg] broken"; exit 1; fi ;;
esac
`;

function change(
    c: Omit<EdgeChange, "edge">,
    env: Record<string, string> = {},
): { code: number | null; stderr: string; dir: string; calls: string[] } {
    const dir = fs.mkdtempSync(path.join(work, "change-"));
    fs.writeFileSync(path.join(dir, "docker"), FAKE_EDGE, { mode: 0o755 });
    const script = renderEdgeScript({ edge: { container: "box-nginx", lockFile: path.join(dir, "edge.lock") }, ...c });
    const r = spawnSync("/bin/bash", ["-c", script], {
        encoding: "utf8",
        env: { PATH: `${dir}:${process.env.PATH}`, HOME: dir, FAKE: dir, ...env },
    });
    return {
        code: r.status,
        stderr: r.stderr,
        dir,
        calls: fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n"),
    };
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
    assert.deepEqual(
        r.calls.filter(c => c.startsWith("exec")),
        ["exec box-nginx nginx -t", "exec box-nginx nginx -s reload"],
    );
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
    assert.ok(!r.calls.includes("exec box-nginx nginx -s reload"));
    // Accepted, the file goes and so does the directory it leaves empty.
    assert.equal(change({ remove: [file], removeDirs: [dir], whenStopped: "skip" }).code, 0);
    assert.ok(!fs.existsSync(dir));
});
