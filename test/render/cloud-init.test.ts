import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { renderCloudInit, USER_DATA_LIMIT } from "../../lib/render/cloud-init";
import { tempDir } from "../support/fixtures";

const dir = tempDir("dropyard-cloud-init-");

/** Runs Debian's `cloud-init schema` on `text`; returns its exit code and output. */
function schema(text: string, file: string): { status: number | null; output: string } {
    const path = join(dir, file);
    writeFileSync(path, text);
    const r = spawnSync("cloud-init", ["schema", "--config-file", path], { encoding: "utf8" });
    assert.equal(r.error, undefined, `cloud-init could not run (scripts/test-tools.sh installs it): ${r.error}`);
    return { status: r.status, output: r.stdout + r.stderr };
}

test("the droplet's user data passes cloud-init schema", () => {
    const r = schema(renderCloudInit({ swapMiB: 1024 }), "user-data.yaml");
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /Valid cloud-config/);
});

test("cloud-init schema rejects a malformed document, so the check above can fail", () => {
    const r = schema("#cloud-config\npackages: 5\nswap: { size: [1] }\n", "broken.yaml");
    assert.notEqual(r.status, 0, r.output);
});

test("user data starts with #cloud-config, installs Docker, sets swap, and is far below 64 KiB", () => {
    const text = renderCloudInit({ swapMiB: 2048 });
    assert.ok(text.startsWith("#cloud-config\n"));
    assert.ok(Buffer.byteLength(text) < USER_DATA_LIMIT);
    const doc = parse(text);
    assert.ok(doc.packages.includes("docker.io"));
    assert.equal(doc.ssh_pwauth, false);
    assert.deepEqual(doc.swap, { filename: "/swapfile", size: "2048M" });
});

test("swapMiB 0 leaves swap out", () => {
    assert.equal(parse(renderCloudInit({ swapMiB: 0 })).swap, undefined);
    const r = schema(renderCloudInit({ swapMiB: 0 }), "no-swap.yaml");
    assert.equal(r.status, 0, r.output);
});

test("user data is stable (a change would replace the droplet) and carries no key material", () => {
    const a = renderCloudInit({ swapMiB: 1024 });
    assert.equal(renderCloudInit({ swapMiB: 1024 }), a);
    assert.doesNotMatch(a, /PRIVATE KEY|BEGIN/);
});
