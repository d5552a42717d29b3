/**
 * What a value not known at evaluation gets: a command's stdout before it ran, a droplet's address before the
 * machine exists. Resources whose inputs carry it wait for a later pass, which evaluates the program again.
 */
export const PENDING_OUTPUT = "[dropyard-sandbox: known after the command runs]";

/**
 * A container's id before the container exists. It has the shape of one (64 characters a container name may hold),
 * because programs use it as one: Docker's DNS answers a container's first 12 (its short id), which an App's
 * upstream group names. Those 12 mark it wherever it went.
 */
export const PENDING_CONTAINER_ID = "sandboxnotyet".padEnd(64, "0");

/** Whether a serialised value carries a value not known yet. */
export function carriesPending(text: string): boolean {
    return text.includes(PENDING_OUTPUT) || text.includes(PENDING_CONTAINER_ID.slice(0, 12));
}
