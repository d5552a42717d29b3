import { test } from "node:test";
import * as assert from "node:assert/strict";
import { evaluate } from "../../sandbox/harness";
import { BridgeNet, ConfigError } from "../../lib";
import { NETWORK } from "../support/types";
import { localHost } from "../support/fixtures";

test("BridgeNet creates a bridge network named after the component on the host's engine", async () => {
    const g = await evaluate(() => {
        const host = localHost();
        new BridgeNet("frontnet", { host });
    });
    const net = g.one(NETWORK, "frontnet-network");
    assert.equal(net.inputs.name, "frontnet");
    assert.equal(net.inputs.driver, "bridge");
    assert.equal(net.inputs.internal, false);
    assert.equal(net.provider, "pulumi:providers:docker::box-docker");
    assert.equal(net.parent, "dropyard:index:BridgeNet::frontnet");
});

test("BridgeNet internal: true cuts egress", async () => {
    const g = await evaluate(() => new BridgeNet("authnet", { host: localHost(), internal: true }));
    assert.equal(g.one(NETWORK, "authnet-network").inputs.internal, true);
});

test("BridgeNet rejects a name Docker and DNS would reject", () => {
    const host = localHost();
    assert.throws(
        () => new BridgeNet("front_net", { host }),
        (e: unknown) =>
            e instanceof ConfigError &&
            e.message ===
                'BridgeNet "front_net": name "front_net" is not a valid name; use 1-63 lower-case letters, digits and inner hyphens (Docker and DNS both accept those)',
    );
});
