// Sandbox machines: a container of dropyard-sandbox/machine:trixie that plays a droplet or a server. systemd
// boots in it, sshd listens on an address of its own, and cloud-init reads a NoCloud seed (an SSH key and a
// `deploy` user with passwordless sudo), as on a new droplet. Docker is not in it: the bootstrap installs it.
// Uses the plain docker CLI; everything made carries the label dev.dropyard.test=machine and is removed by stop().
// The sandbox's registry joins the machine's network as its Docker Hub mirror (sandbox/registry.ts).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { docker, exec, ExecResult, lastLines } from "./lib/exec";
import { attachRegistry, detachRegistry } from "./registry";

export const MACHINE_IMAGE = "dropyard-sandbox/machine:trixie";
export const MACHINE_LABEL = "dev.dropyard.test=machine";

/**
 * What a machine needs from the engine. Not --privileged: this engine refuses it (its host lacks
 * CAP_SYS_RESOURCE). systemd needs the cgroup tree writable and its own /run; the Docker the bootstrap
 * installs needs every capability, devices, and seccomp, AppArmor and the masked /proc paths out of its way.
 */
export const MACHINE_RUN_FLAGS: readonly string[] = [
    "--cap-add",
    "ALL",
    "--cap-drop",
    "SYS_RESOURCE",
    "--security-opt",
    "seccomp=unconfined",
    "--security-opt",
    "apparmor=unconfined",
    "--security-opt",
    "systempaths=unconfined",
    "--device-cgroup-rule",
    "a *:* rwm",
    "--cgroupns",
    "host",
    "-v",
    "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs",
    "/run:rw,nosuid,nodev,exec,mode=755",
    "--tmpfs",
    "/run/lock:rw,nosuid,nodev,noexec",
];

export interface MachineOptions {
    /** Short name, unique among running machines: the container is `dropyard-machine-<name>`. */
    readonly name: string;
    /** OpenSSH public key line authorized for the user. */
    readonly authorizedKey: string;
    /** The SSH user cloud-init creates, with passwordless sudo. @default "deploy" */
    readonly user?: string;
    /** @default MACHINE_IMAGE */
    readonly image?: string;
    /** How long booting may take before start() gives up. @default 180000 */
    readonly bootTimeoutMs?: number;
    /**
     * `#cloud-config` user data the machine boots with, as a droplet would (e.g. renderCloudInit's); the
     * sandbox's user, key and hostname settings are merged into it. @default none
     */
    readonly userData?: string;
    /**
     * Seed it as DigitalOcean does a droplet: the user data verbatim, the key as meta data `public-keys` (cloud-init
     * authorizes it for root), and a vendor setting that lets root log in with it; `user` is then root.
     * @default false
     */
    readonly droplet?: boolean;
}

export interface Machine {
    readonly name: string;
    readonly container: string;
    readonly network: string;
    /** The volume holding the machine's /var/lib/docker. */
    readonly volume: string;
    /** Where its NoCloud seed lives on this machine (mounted read-only into it). */
    readonly seedDir: string;
    readonly user: string;
    /** The machine's address on its network; re-read after restart(). */
    address: string;
    /** Milliseconds from `docker run` to systemd's running/degraded, for the last boot. */
    bootMs: number;
    /** Runs a command in the machine as root (docker exec), for looking, not for the code under test. */
    exec(args: readonly string[], timeoutMs?: number): Promise<ExecResult>;
    /** Reboots the container (systemd shuts down on SIGRTMIN+3) and waits for it to boot again. */
    restart(): Promise<void>;
    /** Removes the container, its volume, its network and its seed. Safe to call twice. */
    stop(): Promise<void>;
}

/** DigitalOcean's images let root log in with the droplet's keys; the sandbox keeps the hostname Docker gives. */
const DROPLET_VENDOR_CONFIG = "disable_root: false\npreserve_hostname: true\n";

/** The NoCloud seed of a droplet, as DigitalOcean's metadata hands it: user data as given, keys as meta data. */
export function dropletSeed(
    name: string,
    authorizedKey: string,
    userData = "",
): { userData: string; metaData: string } {
    const metaData = stringify(
        {
            "instance-id": `dropyard-machine-${name}`,
            "local-hostname": name,
            "public-keys": authorizedKey.trim().split("\n"),
        },
        { lineWidth: 0 },
    );
    return { userData, metaData };
}

/** Removes what startMachine made for a machine; each removal is tried whatever happened to the others. */
export async function removeMachine(m: Pick<Machine, "container" | "volume" | "network" | "seedDir">): Promise<void> {
    await exec("docker", ["rm", "-f", "-v", m.container], { timeoutMs: 90_000 });
    await exec("docker", ["volume", "rm", "-f", m.volume], { timeoutMs: 60_000 });
    await detachRegistry(m.network);
    await exec("docker", ["network", "rm", m.network], { timeoutMs: 60_000 });
    rmSync(m.seedDir, { recursive: true, force: true });
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

/**
 * The NoCloud seed: user data as a droplet gets it (an SSH key, a sudo user), merged into `base` when given
 * (a `#cloud-config` document; its own `users` come first), and meta data with an instance id.
 */
export function machineSeed(
    name: string,
    user: string,
    authorizedKey: string,
    base?: string,
): { userData: string; metaData: string } {
    const key = authorizedKey.trim();
    if (!/^(ssh-|ecdsa-)[a-z0-9-]+ [A-Za-z0-9+/=]+( [^\n]*)?$/.test(key))
        throw new Error("authorizedKey is not one OpenSSH public key line");
    if (!/^[a-z_][a-z0-9_-]*$/.test(user)) throw new Error(`user "${user}" is not a valid user name`);
    let config: Record<string, unknown> = {};
    if (base !== undefined) {
        if (!base.startsWith("#cloud-config\n")) throw new Error("userData must be a #cloud-config document");
        const parsed: unknown = parse(base);
        if (parsed !== null && (typeof parsed !== "object" || Array.isArray(parsed)))
            throw new Error("userData must be a YAML mapping");
        config = { ...(parsed as Record<string, unknown> | null) };
    }
    const users = Array.isArray(config.users) ? config.users : [];
    config.users = [
        ...users,
        {
            name: user,
            shell: "/bin/bash",
            groups: ["sudo"],
            sudo: "ALL=(ALL) NOPASSWD:ALL",
            lock_passwd: true,
            ssh_authorized_keys: [key],
        },
    ];
    config.disable_root ??= true;
    config.ssh_pwauth ??= false;
    // Docker gives the container its hostname.
    config.preserve_hostname = true;
    const metaData = `instance-id: dropyard-machine-${name}\nlocal-hostname: ${name}\n`;
    return { userData: `#cloud-config\n${stringify(config, { lineWidth: 0 })}`, metaData };
}

/** Waits until systemd says the machine has booted: running, or degraded (some unit failed). */
async function waitBooted(container: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
        const r = await exec("docker", ["exec", container, "systemctl", "is-system-running"], { timeoutMs: 15_000 });
        last = r.stdout.trim() || r.stderr.trim();
        if (last === "running" || last === "degraded") return;
        await sleep(1000);
    }
    const journal = await exec("docker", ["exec", container, "journalctl", "-b", "--no-pager", "-n", "30"], {
        timeoutMs: 15_000,
    });
    const failed = await exec("docker", ["exec", container, "systemctl", "--failed", "--no-pager"], {
        timeoutMs: 15_000,
    });
    throw new Error(
        `machine ${container} did not boot within ${timeoutMs / 1000}s (systemctl is-system-running: ${last || "no answer"})\n` +
            `${failed.stdout}\n${lastLines(journal.stdout + journal.stderr, 30)}`,
    );
}

async function addressOf(container: string, network: string): Promise<string> {
    const ip = await docker([
        "inspect",
        "-f",
        `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`,
        container,
    ]);
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip))
        throw new Error(`machine ${container} has no IPv4 address on ${network} (got "${ip}")`);
    return ip;
}

/** Starts a machine and waits until it has booted (sshd up, cloud-init done). Cleans up after itself on failure. */
export async function startMachine(opts: MachineOptions): Promise<Machine> {
    if (!/^[a-z0-9][a-z0-9-]{0,40}$/.test(opts.name))
        throw new Error(`machine name "${opts.name}" must be lowercase letters, digits and dashes`);
    const user = opts.droplet ? "root" : (opts.user ?? "deploy");
    const container = `dropyard-machine-${opts.name}`;
    const network = container;
    const volume = `${container}-docker`;
    const seedDir = mkdtempSync(join(tmpdir(), "dropyard-machine-seed-"));
    const seed = opts.droplet
        ? dropletSeed(opts.name, opts.authorizedKey, opts.userData)
        : machineSeed(opts.name, user, opts.authorizedKey, opts.userData);
    writeFileSync(join(seedDir, "user-data"), seed.userData, { mode: 0o644 });
    writeFileSync(join(seedDir, "meta-data"), seed.metaData, { mode: 0o644 });
    writeFileSync(join(seedDir, "vendor.cfg"), opts.droplet ? DROPLET_VENDOR_CONFIG : "{}\n", { mode: 0o644 });
    const bootTimeoutMs = opts.bootTimeoutMs ?? 180_000;

    let stopped = false;
    const machine: Machine = {
        name: opts.name,
        container,
        network,
        volume,
        seedDir,
        user,
        address: "",
        bootMs: 0,
        exec: (args, timeoutMs = 60_000) => exec("docker", ["exec", container, ...args], { timeoutMs }),
        async restart() {
            const t0 = Date.now();
            await docker(["restart", "-t", "30", container], 90_000);
            await waitBooted(container, bootTimeoutMs);
            machine.bootMs = Date.now() - t0;
            machine.address = await addressOf(container, network);
        },
        async stop() {
            if (stopped) return;
            stopped = true;
            await removeMachine(machine);
        },
    };
    try {
        await docker(["network", "create", "--label", MACHINE_LABEL, network]);
        await docker(["volume", "create", "--label", MACHINE_LABEL, volume]);
        // The registry mirror the machine's daemon.json names, on the machine's network (sandbox/registry.ts).
        await attachRegistry(network);
        const t0 = Date.now();
        await docker([
            "run",
            "-d",
            "--name",
            container,
            "--hostname",
            opts.name,
            "--label",
            MACHINE_LABEL,
            "--network",
            network,
            ...MACHINE_RUN_FLAGS,
            "-v",
            `${volume}:/var/lib/docker`,
            "-v",
            `${seedDir}:/var/lib/cloud/seed/nocloud:ro`,
            "-v",
            `${join(seedDir, "vendor.cfg")}:/etc/cloud/cloud.cfg.d/95-dropyard-vendor.cfg:ro`,
            opts.image ?? MACHINE_IMAGE,
        ]);
        await waitBooted(container, bootTimeoutMs);
        machine.bootMs = Date.now() - t0;
        machine.address = await addressOf(container, network);
        return machine;
    } catch (e) {
        await machine.stop();
        throw e;
    }
}
