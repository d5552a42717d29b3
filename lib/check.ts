// Runtime type checks of the arguments, declared once per Args type (see lib/schemas.ts). Stack
// programs in JavaScript, `as any` and values read from config reach the constructors untyped;
// these checks turn a wrong type anywhere in the arguments into a ConfigError naming the field
// path (`droplet.size`, `env.FOO`, `domains[2]`) before the component's own checks read them.
// They check types and shapes only; ranges and formats stay with the components.
import * as pulumi from "@pulumi/pulumi";
import { ErrorFactory } from "./errors";

/** One value's expected type. `check` throws through `err` with the field path; it returns nothing. */
export interface Schema {
    /** What the value should be, for messages: "a string", "a list of strings", ... */
    readonly expected: string;
    /** Whether `value` is roughly of this kind, for picking a branch of a `union`. */
    readonly matches: (value: unknown) => boolean;
    readonly check: (err: ErrorFactory, path: string, value: unknown) => void;
}

/** A field of an `object` schema: its schema and whether it must be given. */
interface Field {
    readonly schema: Schema;
    readonly required: boolean;
}

/** `value` in words, for messages: `the number 17`, `the string "x"`, `a list`, `a Host`. */
export function describe(value: unknown): string {
    if (value === undefined) return "undefined";
    if (value === null) return "null";
    switch (typeof value) {
        case "string":
            return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
        case "number":
            return `the number ${String(value)}`;
        case "boolean":
            return String(value);
        case "bigint":
            return `the bigint ${String(value)}`;
        case "symbol":
            return "a symbol";
        case "function":
            return "a function";
    }
    if (Array.isArray(value)) return value.length === 0 ? "an empty list" : "a list";
    if (pulumi.Output.isInstance(value)) return "an Output (known only during deployment)";
    if (isPromiseLike(value)) return "a Promise";
    const proto = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
    const ctor = proto?.constructor?.name;
    return proto === null || proto === Object.prototype || !ctor ? "an object" : `a ${ctor}`;
}

function isPromiseLike(value: unknown): boolean {
    return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

/** An object that is neither a list, an Output nor a Promise. */
function isObject(value: unknown): value is Record<string, unknown> {
    return (
        typeof value === "object" &&
        value !== null &&
        !Array.isArray(value) &&
        !pulumi.Output.isInstance(value) &&
        !isPromiseLike(value)
    );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
    const proto = Object.getPrototypeOf(value);
    return proto === Object.prototype || proto === null;
}

/** The generic wrong-type error: `<path> is <what it is>, not <expected>; <fix>`. */
function wrongType(
    err: ErrorFactory,
    path: string,
    value: unknown,
    expected: string,
    fix?: string,
    missing = false,
): Error {
    if (missing) return err(path, "is missing", fix ?? `give ${expected}`);
    if (expected.startsWith("a string") && (typeof value === "number" || typeof value === "boolean")) {
        return err(path, `is ${describe(value)}, not a string`, `write it as a string: "${String(value)}"`);
    }
    return err(path, `is ${describe(value)}, not ${expected}`, fix ?? `give ${expected}`);
}

function simple(expected: string, matches: (v: unknown) => boolean, fix?: string): Schema {
    return {
        expected,
        matches,
        check: (err, path, v) => {
            if (!matches(v)) throw wrongType(err, path, v, expected, fix);
        },
    };
}

/** A plain string. */
export const string: Schema = simple("a string", v => typeof v === "string");
/** A plain finite number (ranges are the component's to check). */
export const number: Schema = simple("a number", v => typeof v === "number" && Number.isFinite(v));
export const boolean: Schema = simple("true or false", v => typeof v === "boolean");
/** Exactly `value` (e.g. `true` in `droplet: true`). */
export function literal(value: string | boolean): Schema {
    const expected = typeof value === "string" ? JSON.stringify(value) : String(value);
    return simple(expected, v => v === value);
}
/** Anything that is there (the component checks what it is, e.g. `instanceof Host`). */
export function present(expected: string): Schema {
    return simple(expected, v => v !== undefined && v !== null);
}
/** Anything at all, undefined included. */
export const anything: Schema = { expected: "a value", matches: () => true, check: () => undefined };
/** Any object, class instances included (an App as upstream, a Database in link). */
export const anyObject: Schema = simple("an object", isObject);

/** `pulumi.Input<T>`: an Output or a Promise is taken as is (checked when it resolves); a plain value must match. */
export function input(schema: Schema): Schema {
    const deferred = (v: unknown) => pulumi.Output.isInstance(v) || isPromiseLike(v);
    return {
        expected: `${schema.expected} (or an Output of one)`,
        matches: v => deferred(v) || schema.matches(v),
        check: (err, path, v) => {
            if (!deferred(v)) schema.check(err, path, v);
        },
    };
}

/** A list whose every item matches `item`; `[i]` is added to the path. */
export function list(item: Schema, words: { expected?: string; fix?: string } = {}): Schema {
    const expected = words.expected ?? `a list of ${plural(item.expected)}`;
    const fix = words.fix;
    return {
        expected,
        matches: Array.isArray,
        check: (err, path, v) => {
            if (!Array.isArray(v)) throw wrongType(err, path, v, expected, fix);
            // Holes (`[a, , b]`) are undefined items too.
            for (let i = 0; i < v.length; i++) item.check(err, `${path}[${i}]`, v[i]);
        },
    };
}

/** A map (plain object) whose every value matches `value`; `.key` is added to the path. */
export function record(value: Schema, words: { expected?: string; fix?: string } = {}): Schema {
    const expected = words.expected ?? `a map of ${plural(value.expected)}`;
    const fix = words.fix;
    return {
        expected,
        matches: isPlainObject,
        check: (err, path, v) => {
            if (!isPlainObject(v)) throw wrongType(err, path, v, expected, fix);
            for (const [k, x] of Object.entries(v)) value.check(err, fieldPath(path, k), x);
        },
    };
}

/** Marks a field of `object` as required. */
export function required(schema: Schema): Field {
    return { schema, required: true };
}

/**
 * An object with exactly these fields (others are refused: a misspelt field would otherwise be
 * ignored silently). Fields are optional unless wrapped in `required`; `undefined` counts as absent.
 */
export function object<T = Record<string, unknown>>(
    expected: string,
    fields: { readonly [K in keyof Required<T>]: Schema | Field },
): Schema {
    const spec = Object.entries<Schema | Field>(fields).map(
        ([k, f]) => [k, "schema" in f ? f : { schema: f, required: false }] as const,
    );
    const known = spec.map(([k]) => k);
    return {
        expected,
        matches: isPlainObject,
        check: (err, path, v) => {
            if (!isObject(v)) throw wrongType(err, path, v, expected);
            const at = (k: string) => fieldPath(path, k);
            for (const k of Object.keys(v)) {
                if (!known.includes(k))
                    throw err(
                        at(k),
                        `is not an argument of ${path === "" ? "this component" : path}`,
                        `use only ${known.join(", ")}`,
                    );
            }
            for (const [k, f] of spec) {
                const x = v[k];
                if (x === undefined) {
                    if (f.required) throw wrongType(err, at(k), x, f.schema.expected, undefined, true);
                    continue;
                }
                f.schema.check(err, at(k), x);
            }
        },
    };
}

/**
 * One of several kinds: the first branch whose `matches` accepts the value checks it (so errors
 * inside an object branch name the inner field); a value no branch matches is refused as a whole.
 */
export function union(expected: string, ...branches: Schema[]): Schema {
    return {
        expected,
        matches: v => branches.some(b => b.matches(v)),
        check: (err, path, v) => {
            const branch = branches.find(b => b.matches(v));
            if (branch === undefined) throw wrongType(err, path, v, expected);
            branch.check(err, path, v);
        },
    };
}

/** Checks `args` against the component's schema; `args` itself must be an object. */
export function checkArgs(err: ErrorFactory, schema: Schema, name: unknown, args: unknown): void {
    if (typeof name !== "string") throw wrongType(err, "name", name, "a string");
    if (!isObject(args)) throw err("args", `is ${describe(args)}, not ${schema.expected}`, `give ${schema.expected}`);
    schema.check(err, "", args);
}

/** `path.key`, or `path["odd key"]` when the key is not a plain name. */
export function fieldPath(path: string, key: string): string {
    if (!/^[A-Za-z_$][\w$-]*$/.test(key)) return `${path}[${JSON.stringify(key)}]`;
    return path === "" ? key : `${path}.${key}`;
}

function plural(expected: string): string {
    return expected
        .replace(/^an? /, "")
        .replace(/^(string|number|Host|BridgeNet|object|value)\b/, "$1s")
        .replace(/^(true or false)$/, "booleans");
}
