// The sandbox builds images one at a time (sandbox/real-outputs.ts, oneBuildAtATime): the engine's classic
// builder, given two builds at once that share their first steps, caches those steps twice, and a later
// build of unchanged sources can then miss its cache and get a new image id, so a second `up` with no
// change would replace the app's containers. fixtures/twin-builds builds two such images.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { down, up } from "../../sandbox";
import { prepareEngine } from "../../sandbox/prepare";
import { oneBuildAtATime } from "../../sandbox/real-outputs";
import { engine } from "../support/docker";

const FIXTURE = join(__dirname, "fixtures", "twin-builds");
const BUSYBOX = "dropyard-sandbox/busybox:test";

describe("image builds in the sandbox", () => {
    test("oneBuildAtATime starts a build only when the one before has finished, failed or not", async () => {
        const events: string[] = [];
        const step = (name: string, ms: number, fail = false) =>
            oneBuildAtATime(async () => {
                events.push(`start ${name}`);
                await new Promise(r => setTimeout(r, ms));
                events.push(`end ${name}`);
                if (fail) throw new Error(`${name} failed`);
                return name;
            });
        const results = await Promise.allSettled([step("a", 30, true), step("b", 5), step("c", 1)]);
        assert.deepEqual(events, ["start a", "end a", "start b", "end b", "start c", "end c"]);
        assert.deepEqual(
            results.map(r => r.status),
            ["rejected", "fulfilled", "fulfilled"],
        );
    });

    describe("two images sharing their first steps, built cold", () => {
        const contexts = mkdtempSync(join(tmpdir(), "dropyard-twin-builds-"));
        before(async () => {
            await prepareEngine([]);
            execFileSync("bash", [join(__dirname, "fixtures", "busybox-image.sh"), BUSYBOX], { stdio: "inherit" }); // once per machine
            await down(FIXTURE, { purge: true, log: false });
            const nonce = randomBytes(8).toString("hex"); // a fresh first step: nothing of it is cached yet
            for (const name of ["a", "b"]) {
                mkdirSync(join(contexts, name));
                writeFileSync(
                    join(contexts, name, "Dockerfile"),
                    `FROM ${BUSYBOX}\nENV NONCE=${nonce}\nRUN echo shared > /shared\nWORKDIR /app\nCOPY own /app/own\nRUN cat /app/own\n`,
                );
                writeFileSync(join(contexts, name, "own"), `${name}\n`);
            }
        });
        after(async () => {
            await down(FIXTURE, { purge: true, log: false });
            for (const image of ["dropyard-sandbox/twin-a:e2e", "dropyard-sandbox/twin-b:e2e"]) {
                await engine.attempt(() => engine.docker.getImage(image).remove());
            }
            rmSync(contexts, { recursive: true, force: true });
        });

        test("a second up builds the same image ids and changes nothing", async () => {
            const first = await up(FIXTURE, { config: { contexts }, log: false });
            const second = await up(FIXTURE, { config: { contexts }, log: false });
            assert.deepEqual(second.outputs, first.outputs);
            assert.deepEqual(
                second.resources.filter(r => r.action !== "same"),
                [],
            );
        });
    });
});
