/**
 * The one error the sandbox throws for something it will not or cannot do. Messages read like
 * dropyard's own: `<type> "<name>": <field> <problem>; <fix>`, so a user finds the line to change.
 */
export class SandboxError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "SandboxError";
    }
}

/**
 * An error about one resource of the stack: names its type, its name and the field. `details`
 * (script output, container logs) follow on lines of their own, each block under a `--- title ---`.
 */
export function resourceError(
    type: string,
    name: string,
    field: string,
    problem: string,
    fix: string,
    details: Record<string, string> = {},
): SandboxError {
    const blocks = Object.entries(details)
        .filter(([, text]) => text.trim() !== "")
        .map(([title, text]) => `\n--- ${title} ---\n${text.trim()}`);
    return new SandboxError(`${type} "${name}": ${field} ${problem}; ${fix}${blocks.join("")}`);
}

/** A resource of the stack as errors name it: its type token and its name. */
export interface Named {
    readonly type: string;
    readonly name: string;
}

/** `resourceError` about a recorded resource of the stack, named by its own type and name. */
export function errorAbout(
    r: Named,
    field: string,
    problem: string,
    fix: string,
    details: Record<string, string> = {},
): SandboxError {
    return resourceError(r.type, r.name, field, problem, fix, details);
}
