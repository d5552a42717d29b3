// The DigitalOcean side of a `droplet` Host: its SSH key, the droplet and its cloud firewall.
// Host validates the arguments with `normalizeDroplet` before anything exists, then calls
// `createDroplet`; the bootstrap over SSH is Host's (it is shared with the `server` target).
import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import * as tls from "@pulumi/tls";
import { ErrorFactory } from "./errors";
import { renderCloudInit } from "./render/cloud-init";
import { DOCKER_TLS_PORT } from "./render/bootstrap";
import { isCidr } from "./validate";

const ANYWHERE = ["0.0.0.0/0", "::/0"];
const REGION = /^[a-z]{3}\d$/;
const SIZE = /^[a-z0-9]+([-_][a-z0-9]+)*$/;
/** What DigitalOcean accepts as a tag name. */
const TAG = /^[A-Za-z0-9:_-]{1,255}$/;

/**
 * A new DigitalOcean droplet. Changing `image`, `region`, the cloud-init user data (`swapMiB`) or the
 * SSH key replaces the droplet, and with it everything on its disk.
 */
export interface DropletTarget {
    /**
     * Region slug (`doctl compute region list`).
     * @default "nyc3"
     * @example "fra1"
     */
    readonly region?: string;
    /**
     * Size slug (`doctl compute size list`). Resizing keeps the disk.
     * @default "s-1vcpu-1gb"
     */
    readonly size?: string;
    /**
     * Image slug or id. The bootstrap installs Docker with apt, so use Ubuntu or Debian.
     * @default "ubuntu-24-04-x64"
     */
    readonly image?: string;
    /**
     * Tags on the droplet: letters, digits, `:`, `-` and `_`, at most 255 characters each.
     * @default ["dropyard"]
     */
    readonly tags?: string[];
    /** DigitalOcean's monitoring agent (free; graphs and alerts in the control panel). @default true */
    readonly monitoring?: boolean;
    /** DigitalOcean's weekly backups (costs 20% of the droplet price). @default false */
    readonly backups?: boolean;
    /** A public IPv6 address as well as IPv4 (see `Host.ipv6Address`). @default false */
    readonly ipv6?: boolean;
    /**
     * Sources (CIDRs) allowed to reach SSH on port 22. Pulumi's bootstrap needs it from wherever
     * `pulumi up` runs; narrow it to that address when you can.
     * @default ["0.0.0.0/0", "::/0"]
     */
    readonly allowSsh?: string[];
    /**
     * Sources (CIDRs) allowed to reach the Docker API on port 2376. It requires a client certificate
     * signed by this host's own CA, as docker-machine did; narrow it to where `pulumi up` runs when you can.
     * @default ["0.0.0.0/0", "::/0"]
     */
    readonly allowDocker?: string[];
    /**
     * Size of a swap file cloud-init creates, in MiB; 0 for none. Image builds on small droplets need it.
     * @default 1024
     */
    readonly swapMiB?: number;
}

export type ResolvedDroplet = Required<DropletTarget>;

/** Checks every droplet argument and fills in the defaults; throws a ConfigError on the first bad one. */
export function normalizeDroplet(err: ErrorFactory, target: DropletTarget | true): ResolvedDroplet {
    const t = target === true ? {} : target;
    const d: ResolvedDroplet = {
        region: t.region ?? "nyc3",
        size: t.size ?? "s-1vcpu-1gb",
        image: t.image ?? "ubuntu-24-04-x64",
        tags: t.tags ?? ["dropyard"],
        monitoring: t.monitoring ?? true,
        backups: t.backups ?? false,
        ipv6: t.ipv6 ?? false,
        allowSsh: t.allowSsh ?? ANYWHERE,
        allowDocker: t.allowDocker ?? ANYWHERE,
        swapMiB: t.swapMiB ?? 1024,
    };
    if (!REGION.test(d.region)) {
        throw err(
            "droplet.region",
            `"${d.region}" is not a region slug`,
            "use a slug such as fra1 or nyc3 (doctl compute region list)",
        );
    }
    if (!SIZE.test(d.size)) {
        throw err(
            "droplet.size",
            `"${d.size}" is not a size slug`,
            "use a slug such as s-1vcpu-1gb (doctl compute size list)",
        );
    }
    if (d.image.trim() === "") {
        throw err("droplet.image", "is empty", `use an image slug such as "ubuntu-24-04-x64"`);
    }
    d.tags.forEach((tag, i) => {
        if (!TAG.test(tag)) {
            throw err(
                `droplet.tags[${i}]`,
                `"${tag}" is not a valid DigitalOcean tag`,
                "use 1-255 letters, digits, colons, hyphens and underscores",
            );
        }
    });
    for (const field of ["allowSsh", "allowDocker"] as const) {
        const list = d[field];
        if (list.length === 0) {
            throw err(
                `droplet.${field}`,
                "is empty",
                "list at least the address `pulumi up` runs from, e.g. 203.0.113.7/32; the bootstrap and the Docker provider need it",
            );
        }
        list.forEach((cidr, i) => {
            if (!isCidr(cidr)) {
                throw err(
                    `droplet.${field}[${i}]`,
                    `"${cidr}" is not a CIDR block`,
                    "write an address and prefix length, e.g. 203.0.113.7/32 or 2001:db8::/32",
                );
            }
        });
    }
    if (!Number.isInteger(d.swapMiB) || d.swapMiB < 0) {
        throw err(
            "droplet.swapMiB",
            `${d.swapMiB} is not a whole number of MiB`,
            "use 0 (no swap) or a positive whole number such as 1024",
        );
    }
    return d;
}

export interface CreatedDroplet {
    readonly sshKey: tls.PrivateKey;
    readonly droplet: digitalocean.Droplet;
    readonly firewall: digitalocean.Firewall;
}

/** Creates `${name}-ssh-key` (tls), `${name}-ssh` (DigitalOcean), `${name}-droplet` and `${name}-firewall`. */
export function createDroplet(name: string, d: ResolvedDroplet, parent: pulumi.Resource): CreatedDroplet {
    const opts = { parent };
    const sshKey = new tls.PrivateKey(`${name}-ssh-key`, { algorithm: "ED25519" }, opts);
    const doKey = new digitalocean.SshKey(
        `${name}-ssh`,
        { name: `dropyard-${name}`, publicKey: sshKey.publicKeyOpenssh },
        opts,
    );
    const droplet = new digitalocean.Droplet(
        `${name}-droplet`,
        {
            name,
            region: d.region,
            size: d.size,
            image: d.image,
            tags: d.tags,
            monitoring: d.monitoring,
            backups: d.backups,
            ipv6: d.ipv6,
            sshKeys: [doKey.fingerprint],
            userData: renderCloudInit({ swapMiB: d.swapMiB }),
        },
        opts,
    );
    const tcp = (port: number, sources: string[]) => ({
        protocol: "tcp",
        portRange: String(port),
        sourceAddresses: sources,
    });
    const firewall = new digitalocean.Firewall(
        `${name}-firewall`,
        {
            name: `dropyard-${name}`,
            dropletIds: [droplet.id.apply(id => Number(id))],
            inboundRules: [
                tcp(22, d.allowSsh),
                tcp(DOCKER_TLS_PORT, d.allowDocker),
                tcp(80, ANYWHERE),
                tcp(443, ANYWHERE),
            ],
            // A DigitalOcean firewall without outbound rules drops all outbound traffic: apt, image pulls, ACME.
            outboundRules: [
                { protocol: "tcp", portRange: "1-65535", destinationAddresses: ANYWHERE },
                { protocol: "udp", portRange: "1-65535", destinationAddresses: ANYWHERE },
                { protocol: "icmp", destinationAddresses: ANYWHERE },
            ],
        },
        opts,
    );
    return { sshKey, droplet, firewall };
}
