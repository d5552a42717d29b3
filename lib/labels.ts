// The `dev.dropyard.*` labels on what dropyard creates on a host, in one place: `docker ps
// --filter label=...`, the prune step and the day-two tools select by them.

/** Each label's key. */
export const LABEL = {
    /** The Host that owns a network or the edge container. */
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
    /** On a built image: the last git commit that changed the build directory, when it is in a repository. */
    commit: "dev.dropyard.commit",
    /** On a scheduled job's one-off container: the job's name. */
    schedule: "dev.dropyard.schedule",
} as const;

export type LabelName = keyof typeof LABEL;

/**
 * Docker `labels` for a container, network or volume, in the order given:
 * `labels({ app: "counter", process: "web" })`.
 */
export function labels<T>(values: Partial<Record<LabelName, T>>): { label: string; value: T }[] {
    return (Object.entries(values) as [LabelName, T][]).map(([key, value]) => ({ label: LABEL[key], value }));
}
