import * as pulumi from "@pulumi/pulumi";

/**
 * The one error dropyard throws for bad configuration. It is thrown while a component is being
 * constructed, before any of its resources exists, and its message always reads
 * `<Component> "<name>": <field> <problem>; <fix>` so a user can find the line to change.
 *
 * It is a `pulumi.ResourceError` on the component being constructed, without a stack trace: Pulumi
 * reports it as that resource's error (`error: <message>` under its URN), not as a crash of the
 * program.
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

    constructor(component: string, resourceName: string, field: string, problem: string, fix: string, resource?: pulumi.Resource) {
        super(`${component} "${resourceName}": ${field} ${problem}; ${fix}`, resource, true);
        this.name = "ConfigError";
        this.component = component;
        this.resourceName = resourceName;
        this.field = field;
    }
}

/**
 * Binds component, name and the component itself once, so each check in a constructor only states
 * field, problem and fix.
 */
export function configErrors(component: string, resourceName: string, resource?: pulumi.Resource) {
    return (field: string, problem: string, fix: string) => new ConfigError(component, resourceName, field, problem, fix, resource);
}

/** What `configErrors` returns: a factory for this component's errors. */
export type ErrorFactory = ReturnType<typeof configErrors>;
