// What the benchmark needs around the sandbox: private copies of the examples (so a redeploy can change
// a file, and the sandbox state is the bench's own), waiting until no one else's example containers are on
// the engine (the examples deploy fixed names and ports), addresses on docker networks, the edge's memory.
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Engine } from "../sandbox/docker";

export const REPO = resolve(__dirname, "..");
export const EXAMPLES = ["django-postgres", "wordpress-mariadb", "notes-two-nets"] as const;
export type Example = (typeof EXAMPLES)[number];

/** Where the bench keeps its copies: fixed, so a run can remove what an interrupted one left. */
export const BENCH_DIR = "/tmp/dropyard-bench";

/** A fresh copy of examples/<name> (without node_modules) under BENCH_DIR; returns its path. */
export function copyExample(name: Example): string {
    const dir = join(BENCH_DIR, name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(BENCH_DIR, { recursive: true });
    cpSync(join(REPO, "examples", name), dir, {
        recursive: true,
        filter: src => !src.split("/").includes("node_modules"),
    });
    return dir;
}

/**
 * Makes the copy of django-postgres take a `benchGeneration` config value into its web containers'
 * environment, so a changed value redeploys without a build (a no-build redeploy, as a config change is).
 */
export function addGenerationVariable(dir: string): void {
    const file = join(dir, "index.ts");
    const before = readFileSync(file, "utf8");
    const env = `env: { ALLOWED_HOSTS: domain, DEBUG: "false" }`;
    if (!before.includes(env)) throw new Error(`${file}: no \`${env}\` to add BENCH_GENERATION to`);
    writeFileSync(
        file,
        before.replace(
            env,
            `env: { ALLOWED_HOSTS: domain, DEBUG: "false", BENCH_GENERATION: config.get("benchGeneration") ?? "0" }`,
        ),
    );
}

/** The running container whose name starts with `prefix` (exactly one). */
export async function containerNamed(prefix: string): Promise<string> {
    const names = (await engine.docker.listContainers())
        .map(c => c.Names[0].replace(/^\//, ""))
        .filter(n => n.startsWith(prefix));
    if (names.length !== 1)
        throw new Error(`expected one running container named ${prefix}*, found: ${names.join(", ") || "none"}`);
    return names[0];
}

const engine = Engine.local();

/** Container names the examples deploy (fixed names: two deployments of one example cannot share an engine). */
const EXAMPLE_CONTAINER = /^(counter|blog|wordpress|notes|userauth|db-notes|db-userauth)(-|$)/;

/** Example containers on the engine, and test runs of the examples in progress (they deploy between tests too). */
export async function examplesInUse(): Promise<string[]> {
    const containers = (await engine.docker.listContainers({ all: true }))
        .map(c => c.Names[0].replace(/^\//, ""))
        .filter(n => EXAMPLE_CONTAINER.test(n));
    const pgrep = spawnSync("pgrep", ["-f", "test/e2e/examples/"], { encoding: "utf8" });
    const tests = pgrep.stdout
        .split("\n")
        .filter(Boolean)
        .map(pid => `test process ${pid}`);
    return [...containers, ...tests];
}

/** Waits (polling every 10 s, at most `seconds`) until no example container or example test run is left. */
export async function waitForExamplesGone(seconds: number, log: (l: string) => void): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    for (let said = false; ; said = true) {
        const left = await examplesInUse();
        if (left.length === 0) return;
        if (Date.now() > deadline)
            throw new Error(
                `the examples are still in use after ${seconds}s (someone is running them): ${left.join(", ")}`,
            );
        if (!said) log(`waiting for another run of the examples to end: ${left.join(", ")}`);
        await new Promise(r => setTimeout(r, 10_000));
    }
}

/** A container's IPv4 address on a network. */
export async function addressOn(container: string, network: string): Promise<string> {
    const ip = (await engine.containerInspect(container))?.NetworkSettings.Networks[network]?.IPAddress ?? "";
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) throw new Error(`${container} has no address on ${network}`);
    return ip;
}

/** Resident memory of the nginx processes in a container, in MB (sum of VmRSS). */
export async function nginxRssMb(container: string): Promise<number> {
    const status = (await engine.exec(container, ["sh", "-c", "cat /proc/[0-9]*/status 2>/dev/null"])).stdout;
    let kb = 0;
    let name = "";
    for (const line of status.split("\n")) {
        if (line.startsWith("Name:")) name = line.split(/\s+/)[1];
        const m = line.match(/^VmRSS:\s+(\d+) kB/);
        if (m && name === "nginx") kb += Number(m[1]);
    }
    return kb / 1024;
}
