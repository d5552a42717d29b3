/**
 * The one error the `dropyard` command reports for what the user can fix: an unknown app, a state
 * it cannot read, a host it cannot reach. The command prints its message and exits with status 1.
 */
export class CliError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "CliError";
    }
}
