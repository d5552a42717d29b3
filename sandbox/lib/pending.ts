/**
 * What a value not known at evaluation gets: a command's stdout before it ran, a droplet's address before the
 * machine exists. Resources whose inputs carry it wait for a later pass, which evaluates the program again.
 */
export const PENDING_OUTPUT = "[dropyard-sandbox: known after the command runs]";
