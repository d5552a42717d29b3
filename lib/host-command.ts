// What a host command takes, apart from Host itself: the Edge and the other components that only
// run scripts on a host depend on this file, not on host.ts.
import * as pulumi from "@pulumi/pulumi";

/** Scripts a host command runs; see `Host.command`. */
export interface HostCommandArgs {
    /** Runs when the command is created and, when `update` is absent, whenever an input changes. */
    readonly create: pulumi.Input<string>;
    /** Runs when an input changes. @default - `create` runs again */
    readonly update?: pulumi.Input<string>;
    /** Runs when the command is deleted. @default - nothing runs */
    readonly delete?: pulumi.Input<string>;
    /** Environment for the scripts; mark values secret and they stay secret. @default {} */
    readonly environment?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Values whose change re-runs the command. @default [] */
    readonly triggers?: pulumi.Input<any[]>;
    /** Text fed to the script's standard input. */
    readonly stdin?: pulumi.Input<string>;
}

/** `dependsOn` as a list, whichever way it was given. */
export function dependencies(d: pulumi.ResourceOptions["dependsOn"]): pulumi.Input<pulumi.Resource>[] {
    if (d === undefined) return [];
    return Array.isArray(d) ? d : [d as pulumi.Input<pulumi.Resource>];
}
