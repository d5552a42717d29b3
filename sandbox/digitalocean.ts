// DigitalOcean's API, simulated: the one thing the sandbox plays rather than runs. What sits behind it is real:
//   - SshKey: recorded, with DigitalOcean's fingerprint (MD5 of the key, colon-separated hex).
//   - Droplet: a new sandbox machine (sandbox/machine.ts) seeded as DigitalOcean seeds one: the rendered user data
//     verbatim and the SSH keys as meta data, so cloud-init runs them for real. Its outputs (ipv4Address, …) are
//     the machine's. Only image debian-13-x64 exists here (the machines are Debian trixie), and no IPv6.
//   - Firewall: nftables rules in the machine's network namespace, ahead of everything the machine itself sets up
//     (its Docker's NAT included), with DigitalOcean's semantics: inbound only the listed protocols and ports from
//     the listed sources; outbound only what the outbound rules list (none: no outbound traffic); replies to
//     allowed traffic pass. Traffic between the machine's own containers never crosses it.
//   - DnsRecord: recorded, and handed to the resolver the caller gives (the e2e tests: Pebble's challtestsrv).
import { createHash, randomBytes, randomInt } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";
import { RecordedResource, unwrapSecrets } from "./harness";
import { errorAbout, resourceError } from "./lib/errors";
import { exec, lastLines } from "./lib/exec";
import { PENDING_OUTPUT } from "./lib/pending";
import { removeMachine, startMachine } from "./machine";
import type { ApplyContext, Created } from "./resources";
import type { StateResource } from "./state";

export const SSH_KEY = "digitalocean:index/sshKey:SshKey";
export const DROPLET = "digitalocean:index/droplet:Droplet";
export const FIREWALL = "digitalocean:index/firewall:Firewall";
export const DNS_RECORD = "digitalocean:index/dnsRecord:DnsRecord";
/** The one image the simulated API offers: what the sandbox machines are. */
export const SANDBOX_IMAGE = "debian-13-x64";
const TABLE = "dropyard_cloud_firewall";

type Inputs = Record<string, any>;

/** What the simulated API answers at creation time, before anything exists (the address comes with the machine). */
export function digitaloceanOutputs(
    type: string,
    name: string,
    i: Inputs,
    prior: Record<string, any> | undefined,
): Record<string, any> {
    if (prior) return prior;
    const id = String(randomInt(100_000_000, 999_999_999));
    switch (type) {
        case SSH_KEY:
            return { id, fingerprint: fingerprint(type, name, String(i.publicKey ?? "")) };
        case DROPLET:
            return {
                id,
                urn: `do:droplet:${id}`,
                status: "new",
                ipv4Address: PENDING_OUTPUT,
                ipv4AddressPrivate: PENDING_OUTPUT,
            };
        case FIREWALL:
            return { id: randomBytes(16).toString("hex"), status: "waiting" };
        case DNS_RECORD:
            return { id, fqdn: i.name === "@" ? i.domain : `${i.name}.${i.domain}` };
        default:
            return {};
    }
}

/** DigitalOcean's key fingerprint: MD5 of the key's blob, as colon-separated hex. */
export function fingerprint(type: string, name: string, publicKey: string): string {
    const blob = /^(?:ssh-|ecdsa-)\S+ ([A-Za-z0-9+/]+=*)(?:\s|$)/.exec(publicKey.trim())?.[1];
    if (!blob)
        throw resourceError(
            type,
            name,
            "publicKey",
            "is not an OpenSSH public key line",
            "pass e.g. a tls.PrivateKey's publicKeyOpenssh",
        );
    return createHash("md5").update(Buffer.from(blob, "base64")).digest("hex").match(/../g)!.join(":");
}

/** What a change of these fields does: the provider replaces a droplet for image, region, user data or keys. */
export function digitaloceanInPlace(type: string, changed: string[]): boolean {
    if (type === DROPLET) return !changed.some(f => ["image", "region", "userData", "sshKeys", "ipv6"].includes(f));
    if (type === DNS_RECORD) return !changed.some(f => ["domain", "type"].includes(f));
    return type === FIREWALL || type === SSH_KEY;
}

/** Refuses, before anything is made, what the simulated API cannot offer. */
export function checkDigitalocean(r: RecordedResource): void {
    if (r.type !== DROPLET) return;
    if (r.inputs.image !== SANDBOX_IMAGE) {
        throw errorAbout(
            r,
            "image",
            `"${r.inputs.image}" is not offered by the sandbox's simulated API`,
            `its droplets are Debian 13 machines: use image "${SANDBOX_IMAGE}" (the examples: config dropletImage)`,
        );
    }
    if (r.inputs.ipv6)
        throw errorAbout(r, "ipv6", "is true but sandbox machines have no IPv6", "leave ipv6 off for sandbox runs");
}

const machineOf = (s: Pick<StateResource, "outputs">) =>
    s.outputs.sandboxMachine as { container: string; network: string; volume: string; seedDir: string };

export async function createDigitalocean(r: RecordedResource, ctx: ApplyContext): Promise<Created> {
    const i = r.inputs as Inputs;
    switch (r.type) {
        case DROPLET: {
            const keys = (i.sshKeys ?? []).map((fp: string) => {
                const key = ctx.resources().find(s => s.type === SSH_KEY && s.outputs.fingerprint === fp);
                if (!key)
                    throw errorAbout(
                        r,
                        "sshKeys",
                        `names key ${fp}, which this stack did not register`,
                        "pass a digitalocean.SshKey's fingerprint",
                    );
                return String(unwrapSecrets(key.rawInputs).publicKey);
            });
            ctx.log(
                `droplet ${i.name}: booting sandbox machine droplet-${r.outputs.id} (cloud-init runs its user data)`,
            );
            const m = await startMachine({
                name: `droplet-${r.outputs.id}`,
                droplet: true,
                authorizedKey: keys.join("\n"),
                userData: i.userData ?? "",
                bootTimeoutMs: 15 * 60_000,
            });
            const { container, network, volume, seedDir } = m;
            return {
                engineId: container,
                outputs: {
                    status: "active",
                    ipv4Address: m.address,
                    ipv4AddressPrivate: m.address,
                    sandboxMachine: { container, network, volume, seedDir },
                },
            };
        }
        case FIREWALL: {
            await applyFirewall(r, ctx);
            return { outputs: { status: "succeeded" } };
        }
        case DNS_RECORD: {
            await ctx.dns?.({ fqdn: String(r.outputs.fqdn), type: i.type, value: i.value });
            return {};
        }
        default:
            return {};
    }
}

export async function updateDigitalocean(
    r: RecordedResource,
    prior: StateResource,
    ctx: ApplyContext,
): Promise<Created> {
    if (r.type === FIREWALL) await applyFirewall(r, ctx);
    if (r.type === DNS_RECORD) await createDigitalocean(r, ctx);
    return { engineId: prior.engineId, outputs: { sandboxMachine: prior.outputs.sandboxMachine } };
}

export async function deleteDigitalocean(s: StateResource, ctx: ApplyContext): Promise<void> {
    if (s.type === DROPLET && s.outputs.sandboxMachine) await removeMachine(machineOf(s));
    if (s.type === FIREWALL) {
        for (const d of firewalled(unwrapSecrets(s.rawInputs), ctx)) {
            await exec("docker", ["exec", machineOf(d).container, "nft", "delete", "table", "inet", TABLE]);
        }
    }
}

function firewalled(i: Inputs, ctx: ApplyContext): StateResource[] {
    const ids = new Set((i.dropletIds ?? []).map((id: unknown) => String(id)));
    return ctx.resources().filter(s => s.type === DROPLET && ids.has(String(s.outputs.id)) && s.outputs.sandboxMachine);
}

async function applyFirewall(r: RecordedResource, ctx: ApplyContext): Promise<void> {
    const rules = renderFirewall(r.inputs.inboundRules ?? [], r.inputs.outboundRules ?? []);
    for (const d of firewalled(r.inputs, ctx)) {
        const c = machineOf(d).container;
        ctx.log(`firewall ${r.inputs.name}: nftables rules in front of ${c}`);
        const res = await exec("docker", ["exec", "-i", c, "nft", "-f", "-"], { input: rules });
        if (res.code !== 0)
            throw errorAbout(r, "inboundRules", "could not be applied", "check the rules", {
                "nft said": lastLines(res.stderr, 10),
            });
    }
}

interface Rule {
    protocol: string;
    portRange?: string;
    sourceAddresses?: string[];
    destinationAddresses?: string[];
}

/** One rule as nftables matches: protocol, ports (`all`, `N`, `N-M`), and addresses split by family. */
function match(rule: Rule, direction: "saddr" | "daddr"): string[] {
    const addresses = (direction === "saddr" ? rule.sourceAddresses : rule.destinationAddresses) ?? [];
    const proto = rule.protocol === "icmp" ? "meta l4proto { icmp, ipv6-icmp }" : `meta l4proto ${rule.protocol}`;
    const range =
        rule.portRange && rule.portRange !== "all" && rule.portRange !== "0" && rule.protocol !== "icmp"
            ? ` th dport ${rule.portRange}`
            : "";
    const v4 = addresses.filter(a => isIPv4(a.split("/")[0]));
    const v6 = addresses.filter(a => isIPv6(a.split("/")[0]));
    return [
        ...(v4.length ? [`ip ${direction} { ${v4.join(", ")} } ${proto}${range} accept`] : []),
        ...(v6.length ? [`ip6 ${direction} { ${v6.join(", ")} } ${proto}${range} accept`] : []),
    ];
}

/**
 * The nftables ruleset for a cloud firewall in front of a machine whose public interface is eth0. Inbound is
 * filtered before Docker's NAT (prerouting, ahead of dstnat), so a port the machine's Docker publishes is as closed
 * as any other; outbound is filtered on the way out of eth0. Replies to allowed connections pass both ways.
 */
export function renderFirewall(inbound: Rule[], outbound: Rule[]): string {
    const chain = (hook: string, priority: number, iface: string, rules: string[]) => [
        `    chain ${hook} {`,
        `        type filter hook ${hook} priority ${priority}; policy accept;`,
        `        ${iface} != "eth0" accept`,
        "        ct state established,related accept",
        ...rules.map(l => `        ${l}`),
        "        drop",
        "    }",
    ];
    return [
        `table inet ${TABLE}`,
        `delete table inet ${TABLE}`,
        `table inet ${TABLE} {`,
        ...chain(
            "prerouting",
            -150,
            "iifname",
            inbound.flatMap(r => match(r, "saddr")),
        ),
        ...chain(
            "postrouting",
            50,
            "oifname",
            outbound.flatMap(r => match(r, "daddr")),
        ),
        "}",
        "",
    ].join("\n");
}
