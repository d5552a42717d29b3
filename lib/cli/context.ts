// What every day-two command works with: the stack's model, a Docker client per host, output, and
// the Pulumi CLI when the state came from it.
import type Docker from "dockerode";
import type { StackModel } from "./state";

export interface Context {
    readonly model: StackModel;
    /** The Docker client of a host, by the host's name. */
    docker(host: string): Docker;
    /** Output (a table, or JSON with --json). */
    out(text: string): void;
    /** A progress line on standard error, for anything that takes seconds. */
    progress(text: string): void;
    readonly json: boolean;
    /**
     * Runs the Pulumi CLI in the stack's directory (with --stack when given); returns its exit status.
     * Absent when the state came from --state: nothing can be deployed then.
     */
    readonly pulumi?: (args: string[]) => Promise<number>;
    /** The terminal, for `run` and `exec`. */
    readonly io: {
        stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
        stdout: NodeJS.WritableStream & { isTTY?: boolean };
        stderr: NodeJS.WritableStream;
    };
}
