/**
 * The one error dropyard throws for bad configuration. It is thrown while a component is being
 * constructed, before any of its resources exists, and its message always reads
 * `<Component> "<name>": <field> <problem>; <fix>` so a user can find the line to change.
 *
 * @example
 * // Postgres "db": version "9" is not supported; use one of 14, 15, 16, 17, 18
 */
export class ConfigError extends Error {
    /** The component class, e.g. `"Postgres"`. */
    readonly component: string;
    /** The name the component was given in the stack program. */
    readonly resourceName: string;
    /** The path of the offending argument, e.g. `"droplet.region"` or `"env.DATABASE_URL"`. */
    readonly field: string;

    constructor(component: string, resourceName: string, field: string, problem: string, fix: string) {
        // The name itself may be of the wrong type (an untyped stack program); show it without throwing.
        const name = typeof resourceName === "string" ? resourceName : printable(resourceName);
        super(`${component} "${name}": ${field} ${problem}; ${fix}`);
        this.name = "ConfigError";
        this.component = component;
        this.resourceName = name;
        this.field = field;
    }
}

function printable(value: unknown): string {
    try {
        return JSON.stringify(value) ?? String(value);
    } catch {
        return Object.prototype.toString.call(value);
    }
}

/** Binds component and name once, so each check in a constructor only states field, problem and fix. */
export function configErrors(component: string, resourceName: string) {
    return (field: string, problem: string, fix: string) => new ConfigError(component, resourceName, field, problem, fix);
}

/** What `configErrors` returns: a factory for this component's errors. */
export type ErrorFactory = ReturnType<typeof configErrors>;
