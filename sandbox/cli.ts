// npm run sandbox -- up <stack dir> [--stack name] [--config key=value ...]
// npm run sandbox -- down <stack dir> [--stack name] [--purge]
// npm run sandbox -- export <stack dir> [--stack name]: the state as `pulumi stack export --show-secrets` prints it
// Deploys a TypeScript Pulumi stack on the local Docker engine (see sandbox/index.ts) and prints a
// JSON summary on stdout; progress goes to stderr. Secrets are never printed.
import { exportStack } from "./export";
import { down, up } from "./index";

const USAGE = `usage: npm run sandbox -- up <stack dir> [--stack <name>] [--config key=value ...] [--quiet]
       npm run sandbox -- down <stack dir> [--stack <name>] [--purge] [--quiet]
       npm run sandbox -- export <stack dir> [--stack <name>]`;

function parse(argv: string[]): { command: string; dir: string; stack?: string; config: Record<string, string>; purge: boolean; quiet: boolean } {
    const [command, dir, ...rest] = argv;
    if (!["up", "down", "export"].includes(command) || !dir || dir.startsWith("-")) throw new Error(USAGE);
    const config: Record<string, string> = {};
    let stack: string | undefined;
    let purge = false;
    let quiet = false;
    for (let k = 0; k < rest.length; k++) {
        const a = rest[k];
        const value = () => { const v = rest[++k]; if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`); return v; };
        if (a === "--config" || a === "-c") {
            const kv = value();
            const eq = kv.indexOf("=");
            if (eq <= 0) throw new Error(`--config takes key=value, got "${kv}"`);
            config[kv.slice(0, eq)] = kv.slice(eq + 1);
        } else if (a === "--stack" || a === "-s") stack = value();
        else if (a === "--purge" && command === "down") purge = true;
        else if (a === "--quiet" || a === "-q") quiet = true;
        else throw new Error(`unknown argument "${a}"\n${USAGE}`);
    }
    return { command, dir, stack, config, purge, quiet };
}

async function main(): Promise<void> {
    const a = parse(process.argv.slice(2));
    if (a.command === "export") {
        process.stdout.write(JSON.stringify(exportStack(a.dir, { stack: a.stack }), null, 4) + "\n");
        return;
    }
    const log = a.quiet ? false : undefined;
    const summary = a.command === "up"
        ? await up(a.dir, { stack: a.stack, config: a.config, log })
        : await down(a.dir, { stack: a.stack, purge: a.purge, log });
    process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
}

main().catch((e: Error) => {
    process.stderr.write(`sandbox: ${e.message}\n`);
    process.exitCode = 1;
});
