// A stand-in for the Pulumi CLI over the sandbox, for the commands `dropyard` runs, so the day-two
// command is tested through the same code path as with Pulumi (DROPYARD_PULUMI=sandbox/bin/pulumi):
//   pulumi stack export --show-secrets [--stack s]   the sandbox's state (sandbox/export.ts)
//   pulumi config set --path <key> <value> [--stack s], pulumi config rm --path <key> [--stack s]
//                                                    edit Pulumi.<stack>.yaml, as Pulumi does
//   pulumi up --yes [--skip-preview] [--stack s]     the sandbox's up (sandbox/index.ts)
// The stack is the current directory's project. A simulation of the Pulumi CLI, not the real one.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseDocument } from "yaml";
import { exportStack } from "./export";
import { up } from "./index";

/** `ns:top`, `ns:top.key` or `ns:top["key"]` → the yaml path under `config:`. */
export function configPath(key: string): string[] {
    const m = /^([A-Za-z0-9_-]+:[A-Za-z0-9_-]+)((?:\.[A-Za-z0-9_$-]+|\["[^"]+"\])*)$/.exec(key);
    if (!m)
        throw new Error(
            `config key "${key}" is not understood by the sandbox's pulumi (use ns:key, ns:key.sub or ns:key["sub"])`,
        );
    const rest = [...m[2].matchAll(/\.([A-Za-z0-9_$-]+)|\["([^"]+)"\]/g)].map(x => x[1] ?? x[2]);
    return [m[1], ...rest];
}

/** Sets (value given) or removes a key in the stack file's config, keeping the rest of the file. */
export function editStackConfig(dir: string, stack: string, key: string, value?: string): void {
    const file = join(dir, `Pulumi.${stack}.yaml`);
    const doc = parseDocument(existsSync(file) ? readFileSync(file, "utf8") : "config: {}\n");
    if (!doc.has("config")) doc.set("config", doc.createNode({}));
    const path = ["config", ...configPath(key)];
    if (value === undefined) {
        doc.deleteIn(path);
        // An object left empty goes too, as Pulumi removes it.
        for (let p = path.slice(0, -1); p.length > 1; p = p.slice(0, -1)) {
            const node = doc.getIn(p) as { items?: unknown[] } | undefined;
            if (node?.items && node.items.length === 0) doc.deleteIn(p);
        }
    } else {
        doc.setIn(path, value);
    }
    writeFileSync(file, doc.toString());
}

async function main(argv: string[]): Promise<void> {
    const { values, positionals } = parseArgs({
        args: argv,
        allowPositionals: true,
        strict: true,
        options: {
            stack: { type: "string", short: "s" },
            path: { type: "boolean" },
            "show-secrets": { type: "boolean" },
            yes: { type: "boolean", short: "y" },
            "skip-preview": { type: "boolean" },
        },
    });
    const dir = process.cwd();
    const stack = values.stack ?? "dev";
    const [a, b, c, d] = positionals;
    if (a === "stack" && b === "export" && values["show-secrets"]) {
        process.stdout.write(JSON.stringify(exportStack(dir, { stack }), null, 4) + "\n");
    } else if (a === "config" && (b === "set" || b === "rm") && values.path && c) {
        editStackConfig(dir, stack, c, b === "set" ? (d ?? "") : undefined);
    } else if (a === "up" && values.yes) {
        const summary = await up(dir, { stack });
        process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
    } else {
        throw new Error(`the sandbox's pulumi does not do "${argv.join(" ")}"; see sandbox/pulumi.ts`);
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).catch((e: Error) => {
        process.stderr.write(`error: ${e.message}\n`);
        process.exitCode = 1;
    });
}
