// ConfigError as Pulumi sees it: a ResourceError reported on the parent of the component whose argument
// is wrong (that component is never registered), without a stack trace, while the message keeps
// dropyard's format.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { evaluate } from "../../sandbox/harness";
import { BridgeNet, ConfigError, Postgres } from "../../lib";
import { localHost } from "../support/fixtures";

function thrown(make: () => unknown): ConfigError {
    let error: unknown;
    try {
        make();
    } catch (e) {
        error = e;
    }
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${String(error)}`);
    return error;
}

test("a ConfigError is a pulumi.ResourceError on the component's parent, with its stack hidden", async () => {
    await evaluate(() => {
        const host = localHost();
        const e = thrown(() => new BridgeNet("front_net", { host }, { parent: host }));
        assert.ok(pulumi.ResourceError.isInstance(e));
        assert.equal(e.resource, host);
        assert.equal(e.hideStack, true);
        assert.equal(e.name, "ConfigError");
        assert.equal(
            e.message,
            'BridgeNet "front_net": name "front_net" is not a valid name; use 1-63 lower-case letters, digits and inner hyphens (Docker and DNS both accept those)',
        );
        assert.deepEqual([e.component, e.resourceName, e.field], ["BridgeNet", "front_net", "name"]);
    });
});

test("without a parent the error is the stack's: the component itself was never registered", async () => {
    await evaluate(() => {
        const host = localHost();
        const e = thrown(() => new Postgres("db", { host, version: "9" }));
        assert.equal(e.resource, undefined);
        assert.equal(e.message, 'Postgres "db": version "9" is not supported; use one of 14, 15, 16, 17, 18');
    });
});
