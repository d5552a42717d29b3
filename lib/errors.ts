import * as pulumi from "@pulumi/pulumi";

/**
 * The one error dropyard throws for bad configuration. It is thrown while a component is being
 * constructed, before any of its resources exists, and its message always reads
 * `<Component> "<name>": <field> <problem>; <fix>` so a user can find the line to change.
 *
 * It is a `pulumi.ResourceError` without a stack trace, so Pulumi reports it as a resource's error
 * (`error: <message>` under its URN), not as a crash of the program. The resource is the component's
 * parent (or none: the stack), never the component itself, which is not registered until every
 * check has passed.
 *
 * @example
 * // Postgres "db": version "9" is not supported; use one of 14, 15, 16, 17, 18
 */
export class ConfigError extends pulumi.ResourceError {
    /** The component class, e.g. `"Postgres"`. */
    readonly component: string;
    /** The name the component was given in the stack program. */
    readonly resourceName: string;
    /** The path of the offending argument, e.g. `"droplet.region"` or `"env.DATABASE_URL"`. */
    readonly field: string;
    /** What is wrong with the field's value, e.g. `"9" is not supported`. */
    readonly problem: string;
    /** How to put it right, e.g. `use one of 14, 15, 16, 17, 18`. */
    readonly fix: string;

    constructor(
        component: string,
        resourceName: string,
        field: string,
        problem: string,
        fix: string,
        resource?: pulumi.Resource,
    ) {
        // The name itself may be of the wrong type (an untyped stack program); show it without throwing.
        const name = typeof resourceName === "string" ? resourceName : printable(resourceName);
        super(`${component} "${name}": ${field} ${problem}; ${fix}`, resource, true);
        this.name = "ConfigError";
        this.component = component;
        this.resourceName = name;
        this.field = field;
        this.problem = problem;
        this.fix = fix;
    }
}

function printable(value: unknown): string {
    try {
        return JSON.stringify(value) ?? String(value);
    } catch {
        return Object.prototype.toString.call(value);
    }
}

/**
 * Binds component, name and the resource the error is reported on (the component's parent) once, so
 * each check in a constructor only states field, problem and fix.
 */
export function configErrors(component: string, resourceName: string, parent?: pulumi.Resource) {
    return (field: string, problem: string, fix: string) =>
        new ConfigError(component, resourceName, field, problem, fix, parent);
}

/** What `configErrors` returns: a factory for this component's errors. */
export type ErrorFactory = ReturnType<typeof configErrors>;
