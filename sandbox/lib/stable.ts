import { createHash } from "node:crypto";

/** JSON with object keys sorted, so equal values always give equal text (and equal hashes). */
export function stableStringify(value: unknown): string {
    return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v && typeof v === "object") {
        return Object.fromEntries(
            Object.keys(v as object)
                .sort()
                .filter(k => (v as Record<string, unknown>)[k] !== undefined)
                .map(k => [k, sortKeys((v as Record<string, unknown>)[k])]),
        );
    }
    return v;
}

export function sha256(text: string): string {
    return createHash("sha256").update(text).digest("hex");
}

/** The diff key of a resource: its inputs, canonicalised. Equal hash = nothing to do. */
export function inputsHash(inputs: Record<string, unknown>): string {
    return sha256(stableStringify(inputs));
}
