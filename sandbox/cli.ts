// npm run sandbox -- up <stack dir> [--stack name] [--config key=value ...]
// npm run sandbox -- down <stack dir> [--stack name] [--purge]
// npm run sandbox -- export <stack dir> [--stack name]: the state as `pulumi stack export --show-secrets` prints it
// Deploys a TypeScript Pulumi stack on the local Docker engine (see sandbox/index.ts) and prints a
// JSON summary on stdout; progress goes to stderr. Secrets are never printed.
import { parseArgs } from "node:util";
import { exportStack } from "./export";
import { down, up } from "./index";

export const USAGE = `usage: npm run sandbox -- up <stack dir> [--stack <name>] [--config key=value ...] [--quiet]
       npm run sandbox -- down <stack dir> [--stack <name>] [--purge] [--quiet]
       npm run sandbox -- export <stack dir> [--stack <name>]`;

export interface CliArgs {
    command: "up" | "down" | "export";
    dir: string;
    stack?: string;
    config: Record<string, string>;
    purge: boolean;
    quiet: boolean;
}

/** The command line, checked: unknown flags, a missing value and `--purge` on `up` are errors with the usage. */
export function parseCli(argv: string[]): CliArgs {
    let parsed;
    try {
        parsed = parseArgs({
            args: argv,
            allowPositionals: true,
            strict: true,
            options: {
                config: { type: "string", short: "c", multiple: true },
                stack: { type: "string", short: "s" },
                purge: { type: "boolean" },
                quiet: { type: "boolean", short: "q" },
            },
        });
    } catch (e) {
        throw new Error(`${(e as Error).message}\n${USAGE}`);
    }
    const { values, positionals } = parsed;
    const [command, dir, ...extra] = positionals;
    if ((command !== "up" && command !== "down" && command !== "export") || !dir) throw new Error(USAGE);
    if (extra.length) throw new Error(`unknown argument "${extra[0]}"\n${USAGE}`);
    if (values.purge && command === "up") throw new Error(`unknown argument "--purge" (it belongs to down)\n${USAGE}`);
    const config: Record<string, string> = {};
    for (const kv of values.config ?? []) {
        const eq = kv.indexOf("=");
        if (eq <= 0) throw new Error(`--config takes key=value, got "${kv}"`);
        config[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    return { command, dir, stack: values.stack, config, purge: values.purge ?? false, quiet: values.quiet ?? false };
}

async function main(): Promise<void> {
    const a = parseCli(process.argv.slice(2));
    if (a.command === "export") {
        process.stdout.write(JSON.stringify(exportStack(a.dir, { stack: a.stack }), null, 4) + "\n");
        return;
    }
    const log = a.quiet ? false : undefined;
    const summary =
        a.command === "up"
            ? await up(a.dir, { stack: a.stack, config: a.config, log })
            : await down(a.dir, { stack: a.stack, purge: a.purge, log });
    process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
}

if (require.main === module) {
    main().catch((e: Error) => {
        process.stderr.write(`sandbox: ${e.message}\n`);
        process.exitCode = 1;
    });
}
