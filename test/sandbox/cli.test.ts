// `npm run sandbox` argument parsing (node:util parseArgs): the flags, repeated --config, and the errors.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { parseCli, USAGE } from "../../sandbox/cli";

test("up with a stack, repeated --config (short and long) and --quiet", () => {
    assert.deepEqual(parseCli(["up", "examples/x", "-s", "e2e", "--config", "a=1", "-c", "ns:b=x=y", "-q"]), {
        command: "up",
        dir: "examples/x",
        stack: "e2e",
        config: { a: "1", "ns:b": "x=y" },
        purge: false,
        quiet: true,
    });
});

test("down --purge; flags may come before the directory", () => {
    assert.deepEqual(parseCli(["down", "--purge", "examples/x"]), {
        command: "down",
        dir: "examples/x",
        stack: undefined,
        config: {},
        purge: true,
        quiet: false,
    });
});

test("unknown flags, a missing value, --purge on up, a bad --config and a missing directory are errors", () => {
    assert.throws(
        () => parseCli(["up", "x", "--force"]),
        (e: Error) => e.message.startsWith("Unknown option '--force'") && e.message.endsWith(USAGE),
    );
    assert.throws(
        () => parseCli(["up", "x", "--stack"]),
        (e: Error) => /argument missing/.test(e.message) && e.message.endsWith(USAGE),
    );
    assert.throws(() => parseCli(["up", "x", "--purge"]), /--purge/);
    assert.throws(() => parseCli(["up", "x", "--config", "novalue"]), {
        message: '--config takes key=value, got "novalue"',
    });
    assert.throws(() => parseCli(["up"]), { message: USAGE });
    assert.throws(() => parseCli(["deploy", "x"]), { message: USAGE });
    assert.throws(() => parseCli(["up", "x", "y"]), /unknown argument "y"/);
});
