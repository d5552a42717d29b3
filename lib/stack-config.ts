// The one way a stack program picks its host and certificate from `pulumi config`: the examples use it,
// and a user's copy of an example keeps working on all three targets without editing the program.
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "./errors";
import { Host, HostArgs, HostTarget } from "./host";
import { LetsEncrypt } from "./lets-encrypt";

const TARGETS: readonly HostTarget[] = ["local", "droplet", "server"];

/** An error about the config key `key` of `config`'s namespace (its project): `Config "<project>": <key> …`. */
function configError(config: pulumi.Config, key: string, problem: string, fix: string): ConfigError {
    return new ConfigError("Config", config.name, key, problem, fix);
}

/**
 * Runs `make`, reporting an error about one of the arguments built from config as an error about the config
 * key it came from, so the message names what the user sets rather than a field of a program they did not write.
 */
function fromKeys<T>(config: pulumi.Config, keys: Readonly<Record<string, string>>, make: () => T): T {
    try {
        return make();
    } catch (e) {
        // `droplet.allowSsh[1]` is about the key behind `droplet.allowSsh`.
        const key = e instanceof ConfigError ? (keys[e.field] ?? keys[e.field.replace(/\[\d+\]$/, "")]) : undefined;
        if (key === undefined) throw e;
        const error = e as ConfigError;
        throw configError(config, key, error.problem, `${error.fix} (pulumi config set ${key} …)`);
    }
}

/**
 * The target the config key `target` names: `local` (the default), `droplet` or `server`.
 * @throws ConfigError naming `target` for any other value.
 */
export function targetFromConfig(config: pulumi.Config = new pulumi.Config()): HostTarget {
    const target = config.get("target") ?? "local";
    if (!(TARGETS as readonly string[]).includes(target)) {
        throw configError(
            config,
            "target",
            `"${target}" is not a target`,
            `run \`pulumi config set target local\` (or droplet, or server)`,
        );
    }
    return target as HostTarget;
}

/**
 * The arguments of the Host the stack's config asks for, without creating it (see {@link hostFromConfig}).
 * @throws ConfigError naming the config key that is missing or not one of its allowed values.
 */
export function hostArgsFromConfig(config: pulumi.Config = new pulumi.Config()): HostArgs {
    const missing = (key: string, example: string) =>
        configError(config, key, "is missing", `run \`pulumi config set ${example}\``);
    switch (targetFromConfig(config)) {
        case "droplet":
            return {
                droplet: {
                    region: config.get("region"),
                    size: config.get("size"),
                    image: config.get("dropletImage"),
                    allowSsh: sources(config, "allowSsh"),
                    allowDocker: sources(config, "allowDocker"),
                },
            };
        case "server": {
            const address = config.get("serverAddress");
            if (address === undefined) throw missing("serverAddress", "serverAddress 203.0.113.10");
            const privateKey = config.getSecret("serverKey");
            if (privateKey === undefined) throw missing("serverKey", `--secret serverKey "$(cat ~/.ssh/id_ed25519)"`);
            return { server: { address, user: config.get("serverUser"), privateKey } };
        }
        case "local":
            return { local: true };
    }
}

/**
 * A list of source CIDRs from the config key `key`: a JSON list (`pulumi config set --path 'allowSsh[0]' …`) or
 * one string of blocks separated by commas or spaces (`pulumi config set allowSsh 203.0.113.7/32`). The Host
 * checks each block.
 */
function sources(config: pulumi.Config, key: string): string[] | undefined {
    const raw = config.get(key);
    if (raw === undefined) return undefined;
    if (!/^[[{"]/.test(raw.trim())) return raw.split(/[\s,]+/).filter(s => s !== "");
    let list: unknown;
    try {
        list = JSON.parse(raw);
    } catch {
        list = undefined;
    }
    if (!Array.isArray(list) || !list.every(x => typeof x === "string")) {
        throw configError(
            config,
            key,
            "is not a list of CIDR blocks",
            `run \`pulumi config set ${key} 203.0.113.7/32\` (several: separated by commas)`,
        );
    }
    return list as string[];
}

/**
 * The Host the stack's config asks for. The config key `target` picks it, and each target reads its own keys:
 *
 * | target | keys |
 * | --- | --- |
 * | `local` (the default) | none: this machine's Docker engine |
 * | `droplet` | `region`, `size`, `dropletImage`, `allowSsh`, `allowDocker` (optional: {@link DropletTarget}) |
 * | `server` | `serverAddress` (required), `serverUser` (default `root`), `serverKey` (required, a secret) |
 *
 * `allowSsh` and `allowDocker` are CIDR blocks separated by commas, or a JSON list.
 *
 * @example
 * // pulumi config set target server; pulumi config set serverAddress 203.0.113.10
 * // pulumi config set --secret serverKey "$(cat ~/.ssh/id_ed25519)"
 * const host = hostFromConfig("prod");
 * @throws ConfigError naming the config key (`Config "<project>": serverAddress …`) when a key is missing or
 * its value is refused by the Host.
 */
export function hostFromConfig(
    name: string,
    config: pulumi.Config = new pulumi.Config(),
    opts?: pulumi.ComponentResourceOptions,
): Host {
    const args = hostArgsFromConfig(config);
    const keys = {
        "droplet.region": "region",
        "droplet.size": "size",
        "droplet.image": "dropletImage",
        "droplet.allowSsh": "allowSsh",
        "droplet.allowDocker": "allowDocker",
        "server.address": "serverAddress",
        "server.user": "serverUser",
        "server.privateKey": "serverKey",
    };
    return fromKeys(config, keys, () => new Host(name, args, opts));
}

/**
 * The domain the config key `domain` names, or `fallback`. A `*.localhost` name reaches only this machine, so
 * on a droplet or server (config `target`) the domain must be set. Read it before creating the host, so a
 * missing domain stops the program before anything exists.
 * @throws ConfigError naming `domain` when the target is not local and the domain is a `*.localhost` name.
 */
export function domainFromConfig(fallback: string, config: pulumi.Config = new pulumi.Config()): string {
    const target = targetFromConfig(config);
    const domain = config.get("domain") ?? fallback;
    if (target !== "local" && (domain === "localhost" || domain.endsWith(".localhost"))) {
        throw configError(
            config,
            "domain",
            `"${domain}" reaches only this machine, and a ${target} needs a public name`,
            `run \`pulumi config set domain ${domain.replace(/\.?localhost$/, "") || "www"}.example.com\``,
        );
    }
    return domain;
}

/**
 * The certificate for `domain` on `host` the stack's config asks for: a {@link LetsEncrypt} one on a droplet or
 * server, or wherever the config key `acmeServer` names a CA to ask; otherwise (`local` without `acmeServer`,
 * where no CA can reach the host) `"self-signed"`. The LetsEncrypt certificate reads `acmeEmail` (required),
 * `acmeServer` (default Let's Encrypt), `acmeCaBundle` (a private CA's TLS root, for test CAs such as Pebble) and
 * `dnsZone` (a DigitalOcean domain in which to make the droplet's DNS records).
 * @example
 * const tls = certificateFromConfig("site-cert", host, domain);
 * new NginxVhost("site", { host, domains: [domain], upstream: app, tls });
 * @throws ConfigError naming the config key (`acmeEmail`, `acmeServer`, `dnsZone`) that is missing or refused.
 */
export function certificateFromConfig(
    name: string,
    host: Host,
    domain: string,
    config: pulumi.Config = new pulumi.Config(),
): LetsEncrypt | "self-signed" {
    const server = config.get("acmeServer");
    if (host.target === "local" && server === undefined) return "self-signed";
    const email = config.get("acmeEmail");
    if (email === undefined) {
        throw configError(config, "acmeEmail", "is missing", "run `pulumi config set acmeEmail ops@example.com`");
    }
    const zone = config.get("dnsZone");
    const keys = { email: "acmeEmail", server: "acmeServer", "dns.zone": "dnsZone", serverCaBundle: "acmeCaBundle" };
    return fromKeys(
        config,
        keys,
        () =>
            new LetsEncrypt(name, {
                host,
                domains: [domain],
                email,
                server,
                serverCaBundle: config.get("acmeCaBundle"),
                dns: zone === undefined ? undefined : { zone },
            }),
    );
}
