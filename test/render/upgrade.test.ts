// The upgrade scripts as Postgres and MariaDB render them pass bash -n and shellcheck (test/e2e/upgrade.test.ts
// runs them for real).
import { after, test } from "node:test";
import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { evaluate } from "../../sandbox/harness";
import { Host, MariaDB, Postgres } from "../../lib";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "dropyard-upgrade-"));
after(() => fs.rmSync(work, { recursive: true, force: true }));

test("every upgrade script passes bash -n and shellcheck", async () => {
    const g = await evaluate(() => {
        const host = new Host("box", { local: true, dataDir: "/var/lib/dropyard" });
        new Postgres("pg", { host });
        new Postgres("pg18", { host, version: "18" });
        new MariaDB("maria", { host });
    });
    for (const db of ["pg", "pg18", "maria"]) {
        const file = path.join(work, `${db}.sh`);
        fs.writeFileSync(file, g.one("command:local:Command", `${db}-upgrade`).inputs.create);
        execFileSync("bash", ["-n", file]);
        const r = spawnSync("shellcheck", ["--shell=bash", "--severity=style", file], { encoding: "utf8" });
        assert.equal(r.status, 0, `${db}:\n${r.stdout}`);
    }
});
