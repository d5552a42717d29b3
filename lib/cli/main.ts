#!/usr/bin/env node
// `dropyard`: day-two commands for a stack deployed with dropyard, run in the stack's directory.
// It reads the stack's state (`pulumi stack export --show-secrets`, or --state FILE) and talks to
// each host's Docker API with the credentials the state holds, kept in memory only.
import { execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type Docker from "dockerode";
import { Context, exec, logs, ps, run } from "./commands";
import { dockerClient } from "./docker";
import { CliError } from "./errors";
import { backups } from "./backups";
import { releases, rollback } from "./releases";
import { readStackState, StackModel } from "./state";

export const USAGE = `usage: dropyard <command> [options]

  ps [app]                                    process types, containers, health, image, restarts, uptime;
                                              scheduled jobs with their last run
  logs <app> [-p type] [-f] [--since 10m] [-n 100]
                                              the app's logs, every container interleaved by time (-p <job>:
                                              a scheduled job's last run; -f follows new containers too)
  run <app> [--] <command...>                 a one-off container of the app's current release
  exec <app> [-p type] [--] <command...>      a command inside a running container
  releases <app>                              the app's kept releases: image, build time, commit, which is live
  rollback <app> [release] [--unpin]          pin a kept release in the stack's config and run \`pulumi up\`
                                              (default: the release before the live one); --unpin deploys
                                              the code again
  backups <db> [status|list|capture|restore [args...]]
                                              a database's backups (the scripts on its host): the last
                                              success and failure, the snapshots, one now, a restore
                                              (restore --help for its options)

options (every command):
  --stack <name>   the Pulumi stack (default: the one the Pulumi CLI has selected)
  --state <file>   read the state from this file (\`pulumi stack export --show-secrets\` output)
  --json           JSON instead of tables (ps; logs prints one JSON object per line)
  -h, --help       this text

The Pulumi CLI is \`pulumi\` on PATH, or the program DROPYARD_PULUMI names.`;

const COMMANDS = ["ps", "logs", "run", "exec", "releases", "rollback", "backups"] as const;
type Command = (typeof COMMANDS)[number];

const OPTIONS = {
    stack: { type: "string" },
    state: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
    process: { type: "string", short: "p" },
    follow: { type: "boolean", short: "f" },
    since: { type: "string" },
    num: { type: "string", short: "n" },
    unpin: { type: "boolean" },
} as const;

/** Which options each command takes (the global ones aside). */
const TAKES: Record<Command, string[]> = {
    ps: [],
    logs: ["process", "follow", "since", "num"],
    run: [],
    exec: ["process"],
    releases: [],
    rollback: ["unpin"],
    backups: [],
};
const GLOBAL = ["stack", "state", "json", "help"];

export interface Parsed {
    command: Command;
    positionals: string[];
    /** `run`/`exec`: the command to run in the container. */
    cmd: string[];
    stack?: string;
    state?: string;
    json: boolean;
    process?: string;
    follow: boolean;
    since?: string;
    lines?: number;
    unpin: boolean;
}

/**
 * The arguments. For `run` and `exec`, the container's command begins after `--`, or at the first
 * word after the app's name: options of its own (`migrate --check`) are not dropyard's.
 */
export function parse(argv: string[]): Parsed | "help" {
    if (argv.length === 0 || argv[0] === "-h" || argv[0] === "--help" || argv[0] === "help") return "help";
    const command = argv[0] as Command;
    if (!COMMANDS.includes(command))
        throw new CliError(`unknown command "${argv[0]}"; the commands are: ${COMMANDS.join(", ")}\n\n${USAGE}`);
    let own = argv.slice(1);
    let cmd: string[] = [];
    if (command === "run" || command === "exec" || command === "backups") {
        // run/exec: the container's command starts at the word after the app; backups: the script's
        // options (restore's) start after the action.
        const valued = new Set(["--stack", "--state", "-p", "--process"]);
        let positionals = 0;
        for (let i = 0; i < own.length; i++) {
            const a = own[i];
            if (a === "--") {
                cmd = own.slice(i + 1);
                own = own.slice(0, i);
                break;
            }
            if (a.startsWith("-")) {
                if (valued.has(a)) i++;
                continue;
            }
            positionals++;
            if (command !== "backups" && positionals === 2) {
                cmd = own.slice(i);
                own = own.slice(0, i);
                break;
            }
            if (command === "backups" && positionals === 2) {
                cmd = own.slice(i + 1);
                own = own.slice(0, i + 1);
                break;
            }
        }
    }
    let values: Record<string, string | boolean | undefined>;
    let positionals: string[];
    try {
        ({ values, positionals } = parseArgs({ args: own, options: OPTIONS, allowPositionals: true, strict: true }));
    } catch (e) {
        throw new CliError(`${command}: ${(e as Error).message}\n\n${USAGE}`);
    }
    if (values.help) return "help";
    for (const k of Object.keys(values)) {
        if (!GLOBAL.includes(k) && !TAKES[command].includes(k))
            throw new CliError(`${command} does not take --${k}\n\n${USAGE}`);
    }
    const max = command === "rollback" || command === "backups" ? 2 : 1;
    const min = command === "ps" ? 0 : 1;
    if (positionals.length < min)
        throw new CliError(
            `${command}: give the app's name, e.g. \`dropyard ${command} web-app${command === "run" || command === "exec" ? " -- sh" : ""}\``,
        );
    if (positionals.length > max)
        throw new CliError(`${command}: unexpected argument "${positionals[max]}"\n\n${USAGE}`);
    let lines: number | undefined;
    if (values.num !== undefined) {
        lines = Number(values.num);
        if (!Number.isInteger(lines) || lines < 0)
            throw new CliError(`-n "${values.num}" is not a number of lines; give a whole number, e.g. -n 100`);
    }
    return {
        command,
        positionals,
        cmd,
        stack: values.stack as string | undefined,
        state: values.state as string | undefined,
        json: values.json === true,
        process: values.process as string | undefined,
        follow: values.follow === true,
        since: values.since as string | undefined,
        lines,
        unpin: values.unpin === true,
    };
}

/** The Pulumi CLI: `pulumi`, or the program DROPYARD_PULUMI names (the sandbox's stand-in in its tests). */
export function pulumiProgram(env: NodeJS.ProcessEnv = process.env): string {
    return env.DROPYARD_PULUMI || "pulumi";
}

/** Runs the Pulumi CLI with `args` (and --stack), its output on `log`; resolves to its exit status. */
export function runPulumi(
    args: string[],
    opts: { stack?: string; cwd?: string },
    log: NodeJS.WritableStream,
): Promise<number> {
    const all = [...args, ...(opts.stack ? ["--stack", opts.stack] : [])];
    return new Promise((resolveCode, reject) => {
        const child = spawn(pulumiProgram(), all, { cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
        child.stdout.on("data", (c: Buffer) => log.write(c));
        child.stderr.on("data", (c: Buffer) => log.write(c));
        child.on("error", e =>
            reject(
                (e as NodeJS.ErrnoException).code === "ENOENT"
                    ? new CliError(`the Pulumi CLI (${pulumiProgram()}) is not on PATH; install it to deploy`)
                    : e,
            ),
        );
        child.on("close", code => resolveCode(code ?? 1));
    });
}

/** The stack's exported state: from --state, else from the Pulumi CLI in the current directory. */
export async function loadExport(
    opts: { state?: string; stack?: string; cwd?: string },
    progress: (l: string) => void,
): Promise<{ json: unknown; source: string }> {
    if (opts.state !== undefined) {
        if (opts.stack !== undefined)
            throw new CliError("--stack and --state exclude each other: --state is one stack's state already");
        let text: string;
        try {
            text = readFileSync(opts.state, "utf8");
        } catch (e) {
            throw new CliError(
                `--state ${opts.state}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`,
            );
        }
        try {
            return { json: JSON.parse(text), source: opts.state };
        } catch {
            throw new CliError(
                `--state ${opts.state}: not JSON; give the output of \`pulumi stack export --show-secrets\``,
            );
        }
    }
    const args = ["stack", "export", "--show-secrets", ...(opts.stack ? ["--stack", opts.stack] : [])];
    progress(`reading the stack's state (pulumi ${args.join(" ")})…`);
    const text = await new Promise<string>((resolveText, reject) => {
        execFile(
            pulumiProgram(),
            args,
            { cwd: opts.cwd, maxBuffer: 256 * 1024 * 1024, encoding: "utf8" },
            (err, stdout, stderr) => {
                if (!err) return resolveText(stdout);
                if ((err as NodeJS.ErrnoException).code === "ENOENT") {
                    return reject(
                        new CliError(
                            `the Pulumi CLI (${pulumiProgram()}) is not on PATH; install it, or give the state with --state FILE`,
                        ),
                    );
                }
                reject(
                    new CliError(
                        `pulumi ${args.join(" ")} failed: ${stderr.trim().split("\n").slice(-3).join(" ") || err.message}`,
                    ),
                );
            },
        );
    });
    try {
        return { json: JSON.parse(text), source: "pulumi stack export" };
    } catch {
        throw new CliError("pulumi stack export printed something that is not JSON");
    }
}

export interface Io {
    stdin: Context["io"]["stdin"];
    stdout: Context["io"]["stdout"];
    stderr: NodeJS.WritableStream;
}

const UNREACHABLE = new Set([
    "ECONNREFUSED",
    "ENOENT",
    "EACCES",
    "ETIMEDOUT",
    "EHOSTUNREACH",
    "ECONNRESET",
    "ENOTFOUND",
]);
/** Runs one command; returns the exit status (the container command's, for run and exec). */
export async function main(argv: string[], io: Io = process, model?: StackModel): Promise<number> {
    /** The host last asked for, to name it when its Docker API does not answer. */
    let asked: { name: string; at: string } | undefined;
    try {
        const a = parse(argv);
        if (a === "help") {
            io.stdout.write(USAGE + "\n");
            return 0;
        }
        const progress = (l: string) => {
            io.stderr.write(`dropyard: ${l}\n`);
        };
        if (!model) {
            const { json, source } = await loadExport(a, progress);
            model = readStackState(json, source);
        }
        const m = model;
        const clients = new Map<string, Docker>();
        const ctx: Context = {
            model: m,
            json: a.json,
            io,
            progress,
            pulumi: a.state === undefined ? args => runPulumi(args, { stack: a.stack }, io.stderr) : undefined,
            out: text => {
                io.stdout.write(text + "\n");
            },
            docker: host => {
                const h = m.hosts.find(x => x.name === host);
                if (!h)
                    throw new CliError(
                        `host "${host}" is not in the state; the hosts are: ${m.hosts.map(x => x.name).join(", ") || "none"}`,
                    );
                asked = { name: host, at: h.docker.host ?? process.env.DOCKER_HOST ?? "the local engine" };
                if (!clients.has(host)) clients.set(host, dockerClient(h.docker));
                return clients.get(host)!;
            },
        };
        switch (a.command) {
            case "ps":
                await ps(ctx, a.positionals[0]);
                return 0;
            case "logs":
                await logs(ctx, a.positionals[0], {
                    process: a.process,
                    follow: a.follow,
                    since: a.since,
                    lines: a.lines,
                });
                return 0;
            case "run":
                return await run(ctx, a.positionals[0], a.cmd);
            case "exec":
                return await exec(ctx, a.positionals[0], a.process, a.cmd);
            case "releases":
                await releases(ctx, a.positionals[0]);
                return 0;
            case "rollback":
                return await rollback(ctx, a.positionals[0], { release: a.positionals[1], unpin: a.unpin });
            case "backups":
                return await backups(ctx, a.positionals[0], a.positionals[1], a.cmd);
        }
    } catch (e) {
        if (e instanceof CliError) {
            io.stderr.write(`dropyard: ${e.message}\n`);
            return 1;
        }
        const err = e as NodeJS.ErrnoException & { statusCode?: number; json?: { message?: string } };
        if (UNREACHABLE.has(err.code ?? "")) {
            const where = asked ? `host "${asked.name}" (${asked.at})` : "the host";
            io.stderr.write(
                `dropyard: cannot reach the Docker API of ${where}: ${err.code}; is the host up${err.code === "EACCES" ? ", and may this user use its socket" : ""}?\n`,
            );
            return 1;
        }
        io.stderr.write(`dropyard: ${err.json?.message ?? err.message}\n`);
        return 1;
    }
}

if (require.main === module) {
    void main(process.argv.slice(2)).then(code => {
        process.exitCode = code;
    });
}
