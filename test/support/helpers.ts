// Readers and assertions the unit tests share, on top of the harness (which knows nothing of dropyard).
import * as assert from "node:assert/strict";
import { ConfigError } from "../../lib";
import { evaluate, EvaluateOptions, RecordedResource } from "../../sandbox/harness";

/** A recorded container's `envs` (`KEY=value` entries) as a map; values may themselves contain `=`. */
export function envOf(container: RecordedResource): Record<string, string> {
    return Object.fromEntries(
        (container.inputs.envs as string[]).map(e => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
    );
}

/** The names of the networks a recorded container joins, in order. */
export function networksOf(container: RecordedResource): string[] {
    return (container.inputs.networksAdvanced as { name: string }[]).map(n => n.name);
}

/**
 * Asserts that `make` throws a ConfigError whose message is exactly `message`, and that the
 * component `dropyard:index:<component>::<name>` was never registered, nor anything under it:
 * validation comes before any resource. Runs under the mocks, since what `make` builds first (a Host
 * and its edge) registers resources too. `options` gives the evaluation its stack config.
 */
export async function rejectsBeforeCreating(
    component: string,
    name: string,
    make: () => unknown,
    message: string,
    options: EvaluateOptions = {},
): Promise<void> {
    const g = await evaluate(() => {
        assert.throws(make, (e: unknown) => {
            assert.ok(e instanceof ConfigError, `not a ConfigError: ${String(e)}`);
            assert.equal(e.message, message);
            return true;
        });
    }, options);
    assert.deepEqual(
        g.children(`dropyard:index:${component}::${name}`).map(r => r.key),
        [],
    );
    assert.equal(
        g.byKey.has(`dropyard:index:${component}::${name}`),
        false,
        `${component} "${name}" was registered before the error`,
    );
}
