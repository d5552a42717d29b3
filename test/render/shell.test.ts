// reload_edge (lib/render/shell.ts): after `nginx -s reload` it waits until every nginx worker accepting
// connections started after the signal, so a vhost written by a host command is served when the command
// ends. Run by bash against a fake `docker` whose `docker top` shows the edge's processes call by call.
import { after, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { RELOAD_FUNCTION } from "../../lib/render/shell";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "dropyard-reload-"));
after(() => fs.rmSync(work, { recursive: true, force: true }));

// `docker top` prints "$FAKE/top.<n>" on its n-th call (the last one again once they run out).
const FAKE_DOCKER = `#!/bin/bash
printf '%s\\n' "$*" >> "$FAKE/calls"
if [ "$1" = top ]; then
    n=$(cat "$FAKE/top.n" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$FAKE/top.n"
    last=$(find "$FAKE" -name 'top.[0-9]*' | wc -l)
    cat "$FAKE/top.$(( n < last ? n : last ))"
fi
`;

const top = (...rows: string[]) => ["PID                 COMMAND", ...rows.map(r => r.replace(" ", "                "))].join("\n") + "\n";
const MASTER = "10 nginx: master process nginx -g daemon off;";

function reload(tops: string[]): { code: number | null; stderr: string; calls: string[] } {
    const dir = fs.mkdtempSync(path.join(work, "run-"));
    fs.writeFileSync(path.join(dir, "docker"), FAKE_DOCKER, { mode: 0o755 });
    tops.forEach((t, i) => fs.writeFileSync(path.join(dir, `top.${i + 1}`), t));
    const r = spawnSync("/bin/bash", ["-c", `set -euo pipefail\nedge=box-nginx\n${RELOAD_FUNCTION}\nreload_edge`], {
        encoding: "utf8", env: { PATH: `${dir}:${process.env.PATH}`, HOME: dir, FAKE: dir },
    });
    return { code: r.status, stderr: r.stderr, calls: fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") };
}

test("reload_edge returns once only workers started after the reload accept connections", () => {
    const r = reload([
        top(MASTER, "11 nginx: worker process", "12 nginx: worker process"),
        // Just after the signal: the new workers run, and the old ones still accept.
        top(MASTER, "11 nginx: worker process", "12 nginx: worker process", "21 nginx: worker process", "22 nginx: worker process"),
        // The old ones stopped accepting and finish their requests.
        top(MASTER, "11 nginx: worker process is shutting down", "21 nginx: worker process", "22 nginx: worker process"),
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
