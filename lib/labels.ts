// The `dev.dropyard.*` labels on what dropyard creates on a host, in one place: `docker ps
// --filter label=...`, the prune step and the day-two tools select by them. Every object also
// carries the project and stack that own it, which the deploy-time ownership check reads
// (lib/render/ownership.ts).
import * as pulumi from "@pulumi/pulumi";

/** Each label's key. */
export const LABEL = {
    /** The Host that owns a network or the edge container, or that an App's container runs on. */
    host: "dev.dropyard.host",
    /** What a container does for its host, e.g. `edge`. */
    role: "dev.dropyard.role",
    /** The App a container, volume or built image belongs to. */
    app: "dev.dropyard.app",
    /** The App's process type: `web`, `release` or a worker type. */
    process: "dev.dropyard.process",
    /** The database a data volume belongs to. */
    database: "dev.dropyard.database",
    /** A network's own name, on networks dropyard makes. */
    network: "dev.dropyard.network",
    /** The Pulumi project that owns the object. */
    project: "dev.dropyard.project",
    /** The Pulumi stack (of that project) that owns the object. */
    stack: "dev.dropyard.stack",
    /** On a built image: the last git commit that changed the build directory, when it is in a repository. */
    commit: "dev.dropyard.commit",
    /** On a scheduled job's one-off container: the job's name. */
    schedule: "dev.dropyard.schedule",
} as const;

export type LabelName = keyof typeof LABEL;

/** `<project>/<stack>` of the stack being run: who owns what it creates on a host. */
export function stackOwner(): string {
    return `${pulumi.getProject()}/${pulumi.getStack()}`;
}

/**
 * Docker `labels` for a container, network or volume, in the order given, then the owning project and
 * stack: `labels({ app: "counter", process: "web" })`.
 */
export function labels<T>(values: Partial<Record<LabelName, T>>): { label: string; value: T | string }[] {
    const owner = { project: pulumi.getProject(), stack: pulumi.getStack(), ...values };
    return (Object.entries(owner) as [LabelName, T][])
        .sort(([a], [b]) => ownerLast(a) - ownerLast(b))
        .map(([key, value]) => ({ label: LABEL[key], value }));
}

function ownerLast(k: LabelName): number {
    return k === "project" || k === "stack" ? 1 : 0;
}
