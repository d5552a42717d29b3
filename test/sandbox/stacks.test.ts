// Several stacks in the sandbox: a project deployed as two stacks (config from Pulumi.<stack>.yaml,
// state per project and stack), and a third stack reading one of them through a StackReference,
// its secret outputs still secret. Random values only: nothing runs on the Docker engine.
import { after, test } from "node:test";
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { down, up } from "../../sandbox/index";
import { statePath, StackState } from "../../sandbox/state";

const SOURCE = join(__dirname, "fixtures", "ref-source");
const USER = join(__dirname, "fixtures", "ref-user");
const state = (project: string, stack: string, dir: string) =>
    JSON.parse(readFileSync(statePath(project, stack, dir), "utf8")) as StackState;

after(async () => {
    for (const stack of ["staging", "production"]) await down(SOURCE, { stack, log: false });
    await down(USER, { stack: "reader", log: false });
});

test("one project, two stacks: each its own config and state; a StackReference reads the one it names", async () => {
    const staging = await up(SOURCE, { stack: "staging", log: false });
    const production = await up(SOURCE, { stack: "production", log: false });
    assert.equal(staging.outputs.greeting, "hello from staging");
    assert.equal(production.outputs.greeting, "hello from production");
    assert.equal(production.outputs.apiToken, "[secret]");
    const stagingToken = state("sandbox-ref-source", "staging", SOURCE).outputs!.apiToken;
    const productionState = state("sandbox-ref-source", "production", SOURCE);
    assert.notEqual(stagingToken, productionState.outputs!.apiToken, "each stack has its own random token");
    assert.deepEqual(productionState.secretOutputs!.sort(), ["apiToken", "settings"]);

    const lines: string[] = [];
    const reader = await up(USER, { stack: "reader", config: { env: "production" }, log: l => lines.push(l) });
    assert.equal(reader.outputs.heard, "heard: hello from production");
    assert.equal(reader.outputs.greetingIsSecret, false);
    assert.equal(reader.outputs.tokenIsSecret, true);
    // Secret in the referenced stack, secret here: masked in the summary, marked in the state.
    assert.equal(reader.outputs.tokenAgain, "[secret]");
    assert.equal(reader.outputs.note, "[secret]", "a value derived from a secret output is secret too");
    const saved = state("sandbox-ref-user", "reader", USER);
    assert.equal(saved.outputs!.tokenAgain, productionState.outputs!.apiToken);
    assert.deepEqual(saved.secretOutputs!.sort(), ["note", "tokenAgain"]);
    assert.ok(!JSON.stringify({ reader, lines }).includes(String(productionState.outputs!.apiToken)));
});

test("a StackReference to a stack the sandbox has no state of names it and how to make one", async () => {
    await assert.rejects(
        up(USER, { stack: "lost", config: { env: "qa" }, log: false }),
        (e: Error) =>
            e.message.includes('StackReference "organization/sandbox-ref-source/qa"') &&
            e.message.includes("no state of stack sandbox-ref-source/qa") &&
            e.message.includes("npm run sandbox -- up <its dir> --stack qa"),
    );
});
