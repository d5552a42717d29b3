// The release step's script: checked by bash -n and shellcheck, then run by bash against a fake
// `docker` that records its arguments and the variables it was handed, so the test sees exactly
// what a real client would send and that no secret is ever on a command line.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { assertShellClean } from "../support/shellcheck";
import { promisify } from "node:util";
import { releaseScript } from "../../lib/render/release";
import { renderReleasesRemoveScript, renderReleasesScript } from "../../lib/render/releases";

const run = promisify(execFile);

const FAKE_DOCKER = `#!/bin/bash
# Records every call; for create, also the value of each -e KEY in this process's environment.
printf 'argv: %s\\n' "$*" >> "$FAKE_DOCKER_LOG"
case "$1" in
    create)
        prev=
        for a in "$@"; do
            if [ "$prev" = -e ]; then printf 'env: %s=%s\\n' "$a" "\${!a}" >> "$FAKE_DOCKER_LOG"; fi
            prev=$a
        done
        echo fakecid ;;
    start) echo "Applying migrations..."; echo "migration 0002 failed" >&2; exit "\${FAKE_EXIT:-0}" ;;
esac
`;

interface Result {
    code: number;
    stdout: string;
    stderr: string;
    calls: string[];
    env: string[];
}

/** Runs the script with a fake docker first on PATH and the App-provided environment. */
async function release(keys: string[], environment: Record<string, string>, exit = 0): Promise<Result> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropyard-release-"));
    fs.writeFileSync(path.join(dir, "docker"), FAKE_DOCKER, { mode: 0o755 });
    const log = path.join(dir, "docker.log");
    fs.writeFileSync(log, "");
    const env = {
        PATH: `${dir}:${process.env.PATH}`,
        HOME: dir,
        FAKE_DOCKER_LOG: log,
        FAKE_EXIT: String(exit),
        ...environment,
    };
    let code = 0,
        stdout = "",
        stderr = "";
    try {
        ({ stdout, stderr } = await run("/bin/bash", ["-c", releaseScript("counter", keys)], { env }));
    } catch (e) {
        ({ code, stdout, stderr } = e as { code: number; stdout: string; stderr: string });
    }
    const lines = fs.readFileSync(log, "utf8").trim().split("\n");
    return {
        code,
        stdout,
        stderr,
        calls: lines.filter(l => l.startsWith("argv: ")).map(l => l.slice(6)),
        env: lines.filter(l => l.startsWith("env: ")).map(l => l.slice(5)),
    };
}

const BASE = {
    DROPYARD_IMAGE: "sha256:0123abcd",
    DROPYARD_NETWORKS: "frontnet counter-db-net",
    DROPYARD_RELEASE: "python manage.py migrate",
};

test("releaseScript passes bash -n and shellcheck, with and without variables", () => {
    for (const keys of [[], ["DATABASE_URL", "SECRET_KEY"]]) {
        assertShellClean(`release-${keys.length}`, releaseScript("counter", keys));
    }
});

test("releaseScript runs the image once on every network, hands variables by name and removes the container", async () => {
    const r = await release(["DATABASE_URL", "SECRET_KEY"], {
        ...BASE,
        DROPYARD_ENV_DATABASE_URL: "postgres://app:pw-123@counter-db:5432/app",
        DROPYARD_ENV_SECRET_KEY: "s3cr3t",
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.calls, [
        "create --label dev.dropyard.app=counter --label dev.dropyard.process=release --cpu-shares 128 --network frontnet -e DATABASE_URL -e SECRET_KEY sha256:0123abcd /bin/sh -c python manage.py migrate",
        "network connect counter-db-net fakecid",
        "start --attach fakecid",
        "rm --force fakecid",
    ]);
    assert.deepEqual(r.env, ["DATABASE_URL=postgres://app:pw-123@counter-db:5432/app", "SECRET_KEY=s3cr3t"]);
    assert.ok(
        !r.calls.join("\n").includes("s3cr3t") && !r.calls.join("\n").includes("pw-123"),
        "a secret reached a command line",
    );
    assert.match(r.stdout, /Applying migrations/);
});

test("releaseScript without networks uses Docker's default network", async () => {
    const r = await release([], { ...BASE, DROPYARD_NETWORKS: "" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
        r.calls[0],
        "create --label dev.dropyard.app=counter --label dev.dropyard.process=release --cpu-shares 128 sha256:0123abcd /bin/sh -c python manage.py migrate",
    );
    assert.equal(r.calls.filter(c => c.startsWith("network")).length, 0);
});

test("releaseScript fails when the release command fails, with its output in the error, and still cleans up", async () => {
    const r = await release([], BASE, 3);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /release command failed: python manage\.py migrate/);
    assert.match(r.stderr, /Applying migrations[\s\S]*migration 0002 failed/);
    assert.equal(r.calls.at(-1), "rm --force fakecid");
});

test("releaseScript is not thrown off by PATH or BASH_ENV in the app's environment", async () => {
    const r = await release(["PATH", "BASH_ENV"], {
        ...BASE,
        DROPYARD_ENV_PATH: "/app/bin",
        DROPYARD_ENV_BASH_ENV: "/app/.bashrc",
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.env, ["PATH=/app/bin", "BASH_ENV=/app/.bashrc"]);
    assert.equal(r.calls.at(-1), "rm --force fakecid");
});

test("renderReleasesScript and its remove script pass bash -n and shellcheck", () => {
    const scripts = [
        renderReleasesScript({ app: "counter", repo: "dropyard/box-counter", keep: 5 }),
        renderReleasesRemoveScript("dropyard/box-counter"),
    ];
    for (const [i, script] of scripts.entries()) assertShellClean(`releases-${i}`, script);
});
