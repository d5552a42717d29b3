// The deploy-time ownership check (lib/render/ownership.ts) and the owner line of edge files
// (lib/render/edge-files.ts), run by bash against real files and a stand-in `docker` that answers
// inspect and ps from files: a conflict names the object and its owner; one's own objects, and
// objects made before owners were recorded, are no conflict.
import { after, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { OwnedObjects, renderOwnershipCheck } from "../../lib/render/ownership";
import { renderEdgeScript } from "../../lib/render/edge-files";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "dropyard-owners-"));
after(() => fs.rmSync(work, { recursive: true, force: true }));

// `docker <kind> inspect -f ... NAME` prints "$FAKE/<kind>.<NAME>" (fails when absent); `docker ps` prints
// "$FAKE/ps.<app>"; `docker exec`, `docker inspect` of the edge and `docker top` act as a running nginx.
const FAKE_DOCKER = `#!/bin/bash
case "$1 $2" in
    "container inspect"|"volume inspect"|"network inspect") cat "$FAKE/$1.\${@: -1}" 2>/dev/null ;;
    "ps -a") cat "$FAKE/ps.\${4##*=}" 2>/dev/null || true ;;
    "inspect -f") echo true ;;
    *) exit 0 ;;
esac
`;

function host(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(work, "host-"));
    fs.writeFileSync(path.join(dir, "docker"), FAKE_DOCKER, { mode: 0o755 });
    fs.mkdirSync(path.join(dir, "conf.d"));
    for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
    return dir;
}

function run(dir: string, script: string, stdin = ""): { code: number | null; stderr: string } {
    const r = spawnSync("/bin/bash", ["-c", script], {
        input: stdin,
        encoding: "utf8",
        env: { PATH: `${dir}:${process.env.PATH}`, HOME: dir, FAKE: dir },
    });
    return { code: r.status, stderr: r.stderr };
}

const objects = (dir: string, o: Partial<OwnedObjects> = {}): OwnedObjects => ({
    owner: "shop/staging",
    containers: [],
    apps: [],
    volumes: [],
    networks: [],
    files: [],
    domains: [],
    confDir: path.join(dir, "conf.d"),
    ...o,
});

const vhost = (owner: string | undefined, names: string) =>
    `${owner ? `# dropyard-owner: ${owner}\n` : ""}server {\n    listen 443 ssl;\n    server_name ${names};\n}\n`;

test("the check passes on a bare host, on the stack's own objects and on objects with no owner recorded", () => {
    const dir = host({
        "container.staging-db": "shop/staging\n",
        "volume.staging-db-data": "/\n",
        "ps.staging-web": "shop/staging\n/\n",
        "conf.d/vhost-staging.conf": vhost("shop/staging", "staging.example.com"),
        "conf.d/vhost-old.conf": vhost(undefined, "old.example.com"),
    });
    const r = run(
        dir,
        renderOwnershipCheck(
            objects(dir, {
                containers: ["staging-db", "nothing-here"],
                apps: ["staging-web"],
                volumes: ["staging-db-data"],
                networks: ["staging-net"],
                files: [path.join(dir, "conf.d/vhost-staging.conf")],
                domains: ["staging.example.com", "old.example.com"],
            }),
        ),
    );
    assert.deepEqual(r, { code: 0, stderr: "" });
});

test("every object another stack owns is named with its owner, and the check fails", () => {
    const dir = host({
        "container.production-db": "shop/production\n",
        "volume.production-db-data": "shop/production\n",
        "network.production-net": "shop/production\n",
        "ps.production-web": "shop/production\n",
        "conf.d/vhost-production.conf": vhost("shop/production", "www.example.com example.com"),
    });
    const r = run(
        dir,
        renderOwnershipCheck(
            objects(dir, {
                owner: "shop/intruder",
                containers: ["production-db"],
                apps: ["production-web"],
                volumes: ["production-db-data"],
                networks: ["production-net"],
                files: [path.join(dir, "conf.d/vhost-production.conf")],
                domains: ["example.com", "free.example.com"],
            }),
        ),
    );
    assert.equal(r.code, 1);
    const conf = path.join(dir, "conf.d/vhost-production.conf");
    assert.deepEqual(r.stderr.trim().split("\n"), [
        'Docker container "production-db" belongs to stack shop/production',
        'App "production-web" (its containers) belongs to stack shop/production',
        'Docker volume "production-db-data" belongs to stack shop/production',
        'Docker network "production-net" belongs to stack shop/production',
        `file ${conf} belongs to stack shop/production`,
        `domain example.com is served by ${conf} of stack shop/production`,
        "stack shop/intruder would take over what another stack owns on this host (above); nothing was changed. Pick other names or domains, or remove them from the owning stack first",
    ]);
});

test("the check passes bash -n and shellcheck", () => {
    const script = renderOwnershipCheck(
        objects("/srv", { containers: ["a"], apps: ["b"], domains: ["c.example.com"] }),
    );
    assert.equal(spawnSync("bash", ["-n"], { input: script }).status, 0);
    const file = path.join(work, "check.sh");
    fs.writeFileSync(file, script);
    const r = spawnSync("shellcheck", ["--shell=bash", "--severity=style", file], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout);
});

test("edge files carry their owner in their first line, and a file another stack owns is never overwritten", () => {
    const dir = host({ "conf.d/vhost-production.conf": vhost("shop/production", "example.com") });
    const edge = { container: "prod-nginx", lockFile: path.join(dir, "edge.lock"), owner: "shop/staging" };
    const mine = path.join(dir, "conf.d/vhost-staging.conf");
    assert.equal(
        run(dir, renderEdgeScript({ edge, put: [{ path: mine, content: "server {}\n" }], whenStopped: "fail" })).code,
        0,
    );
    assert.equal(fs.readFileSync(mine, "utf8"), "# dropyard-owner: shop/staging\nserver {}\n");

    const theirs = path.join(dir, "conf.d/vhost-production.conf");
    const r = run(
        dir,
        renderEdgeScript({ edge, put: [{ path: theirs, content: "server {}\n" }], whenStopped: "fail" }),
    );
    assert.equal(r.code, 1);
    assert.match(
        r.stderr,
        /file .*vhost-production\.conf belongs to stack shop\/production; stack shop\/staging does not overwrite it/,
    );
    assert.equal(fs.readFileSync(theirs, "utf8"), vhost("shop/production", "example.com"), "untouched");
    assert.deepEqual(
        fs.readdirSync(path.join(dir, "conf.d")).sort(),
        ["vhost-production.conf", "vhost-staging.conf"],
        "nothing left aside",
    );
});
