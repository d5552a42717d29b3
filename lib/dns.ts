// DigitalOcean DNS records for the names a droplet's edge serves: the check LetsEncrypt and
// NginxVhost run on their `dns` argument, and the records they create from it.
import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import { ErrorFactory } from "./errors";
import { isDomain } from "./validate";

/** DigitalOcean DNS records for names served by a droplet's edge. */
export interface DnsOptions {
    /**
     * The DigitalOcean DNS zone (a domain added to the account) the names belong to.
     * @example "example.com"
     */
    readonly zone: string;
    /** Seconds resolvers may cache the records. @default 300 */
    readonly ttl?: number;
}

/** What the records need from a Host: which target it is, and its addresses. */
export interface DnsHost {
    readonly hostName: string;
    readonly target: "droplet" | "server" | "local";
    readonly address: pulumi.Output<string>;
    readonly ipv6Address?: pulumi.Output<string>;
}

/**
 * Checks `dns` for `names` on `host`: only a droplet gets records, and every name must sit in the
 * zone. Returns each name's record name relative to the zone (`@` for the apex).
 */
export function checkDns(
    err: ErrorFactory,
    host: DnsHost,
    dns: DnsOptions,
    names: readonly string[],
): Map<string, string> {
    if (host.target !== "droplet") {
        throw err(
            "dns",
            `is given, but host "${host.hostName}" is a ${host.target} host and only a droplet's records are managed`,
            "leave dns out and point the names at the host in your DNS yourself",
        );
    }
    if (!isDomain(dns.zone))
        throw err("dns.zone", `"${dns.zone}" is not a domain`, "use the zone's domain, e.g. example.com");
    if (dns.ttl !== undefined && (!Number.isInteger(dns.ttl) || dns.ttl < 30)) {
        throw err(
            "dns.ttl",
            `${dns.ttl} is not a TTL DigitalOcean accepts`,
            "use a whole number of seconds, 30 or more",
        );
    }
    const relative = new Map<string, string>();
    for (const [i, n] of names.entries()) {
        if (n === dns.zone) relative.set(n, "@");
        else if (n.endsWith(`.${dns.zone}`)) relative.set(n, n.slice(0, -dns.zone.length - 1));
        else
            throw err(
                `domains[${i}]`,
                `"${n}" is not in dns.zone "${dns.zone}"`,
                "use names in the zone, or leave dns out and make that record yourself",
            );
    }
    return relative;
}

/** A (and, when the droplet has IPv6, AAAA) records pointing each name at the host. */
export function createDnsRecords(
    parent: pulumi.Resource,
    name: string,
    host: DnsHost,
    dns: DnsOptions,
    relative: Map<string, string>,
): digitalocean.DnsRecord[] {
    const records: digitalocean.DnsRecord[] = [];
    for (const [domain, record] of relative) {
        const common = { domain: dns.zone, name: record, ttl: dns.ttl ?? 300 };
        records.push(
            new digitalocean.DnsRecord(
                `${name}-dns-${domain}-a`,
                { ...common, type: "A", value: host.address },
                { parent },
            ),
        );
        if (host.ipv6Address !== undefined) {
            records.push(
                new digitalocean.DnsRecord(
                    `${name}-dns-${domain}-aaaa`,
                    { ...common, type: "AAAA", value: host.ipv6Address },
                    { parent },
                ),
            );
        }
    }
    return records;
}
