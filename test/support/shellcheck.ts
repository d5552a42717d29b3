// One way to check a rendered shell script: bash parses it and shellcheck finds nothing at style severity.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { tempDir } from "./fixtures";

/** Asserts that `script` parses with `bash -n` and passes shellcheck; `name` labels the failure. */
export function assertShellClean(name: string, script: string): void {
    const file = path.join(tempDir("dropyard-shellcheck-"), `${name.replace(/[^A-Za-z0-9_.-]/g, "_")}.sh`);
    fs.writeFileSync(file, script);
    const parse = spawnSync("bash", ["-n", file], { encoding: "utf8" });
    assert.equal(parse.status, 0, `${name}: bash -n failed:\n${parse.stderr}`);
    const lint = spawnSync("shellcheck", ["--shell=bash", "--severity=style", file], { encoding: "utf8" });
    assert.equal(lint.error, undefined, `shellcheck could not run (scripts/test-tools.sh installs it): ${lint.error}`);
    assert.equal(lint.status, 0, `${name}: shellcheck:\n${lint.stdout}${lint.stderr}`);
}
