import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import * as docker from "@pulumi/docker";
import { checkDns, createDnsRecords, DnsOptions } from "./dns";
import { configErrors, ErrorFactory } from "./errors";
import { Host } from "./host";
import { EDGE_PATHS } from "./render/nginx";
import {
    CertbotRun,
    cronSchedule,
    renderIssueScript,
    renderRenewalInstallScript,
    renderRenewalRemoveScript,
    renderRenewScript,
} from "./render/certbot";
import { checkImageReference, isDomain } from "./validate";
import { checkArgs } from "./check";
import { claim, letsEncryptNames, scopeOf } from "./claims";
import { LETS_ENCRYPT_ARGS } from "./schemas";

/** Arguments of a {@link LetsEncrypt} certificate. */
export interface LetsEncryptArgs {
    /** The host whose edge answers the HTTP-01 challenge and serves the certificate. */
    readonly host: Host;
    /**
     * Names on the certificate; the first also names it (`/etc/letsencrypt/live/<first>/`). Each
     * must resolve to the host when the certificate is issued. No wildcards: they need DNS-01.
     * @example ["counter.example.com", "www.counter.example.com"]
     */
    readonly domains: string[];
    /**
     * Address for the CA's expiry and account notices. Required for production; staging and test
     * CAs register without one when it is absent.
     * @default - none (only with `staging` or `server`)
     */
    readonly email?: string;
    /**
     * Use Let's Encrypt's staging CA (untrusted certificates, generous rate limits). Excludes `server`.
     * @default false
     */
    readonly staging?: boolean;
    /**
     * An ACME directory URL, for another CA or a test CA such as Pebble. Excludes `staging`.
     * @default - Let's Encrypt production
     */
    readonly server?: string;
    /** The certbot image. @default "certbot/certbot:v4.0.0" */
    readonly image?: string;
    /**
     * Install a cron entry (`/etc/cron.d`, root or passwordless sudo needed) that runs the renewal
     * script twice a day. Without it the script is still written (see `renewScript`) for you to run.
     * @default true on a droplet or server; false on a `local` host, where writing to the laptop's
     * /etc/cron.d would be a surprise and a certificate for a laptop is usually a test one
     */
    readonly autoRenew?: boolean;
    /**
     * Make A/AAAA records for the names in this DigitalOcean zone before issuing (droplet hosts
     * only). Put `dns` here rather than on an NginxVhost using this certificate: the CA looks the
     * names up before the vhost exists.
     * @default - no records; point the names at the host yourself
     */
    readonly dns?: DnsOptions;
    /**
     * FOR TEST CAs ONLY: extra docker networks certbot joins, e.g. the one a Pebble container is on.
     * @default []
     */
    readonly networks?: pulumi.Input<string>[];
    /**
     * FOR TEST CAs ONLY: a PEM bundle certbot trusts for the ACME server's own TLS certificate
     * (Pebble's is made by its own CA). Sets REQUESTS_CA_BUNDLE, which replaces the system's roots,
     * so never use it with a public CA.
     * @default - the certbot image's trusted roots
     */
    readonly serverCaBundle?: pulumi.Input<string>;
}

/**
 * A Let's Encrypt (or other ACME) certificate, issued with certbot through the edge's webroot on
 * the host and renewed there. The first `pulumi up` issues it; later ones re-run certbot only when
 * the names, email, server or image change (the command's inputs), so an unchanged stack contacts
 * no CA, and even a re-run issues nothing new before renewal is due (`--keep-until-expiring`).
 * Renewal runs on the host, independent of Pulumi. Removing the component removes the renewal job
 * but keeps the certificate files, so adding it back issues nothing (rate limits are tight).
 */
export class LetsEncrypt extends pulumi.ComponentResource {
    /** The host whose edge answers the challenge and serves the certificate. */
    readonly host: Host;
    /** The names the certificate covers, the first one naming the lineage. */
    readonly domains: readonly string[];
    /** The lineage name: the first domain. */
    readonly certName: string;
    /** The certificate chain as nginx in the edge sees it. */
    readonly certificatePath: string;
    /** The private key as nginx in the edge sees it. */
    readonly keyPath: string;
    /** The renewal script on the host; run it with DROPYARD_RENEW_NOW=1 to renew by hand. */
    readonly renewScript: string;
    /** The cron entry, when `autoRenew` is on. */
    readonly cronFile?: string;
    /** The A/AAAA records made when `dns` is given; empty otherwise. */
    readonly dnsRecords: digitalocean.DnsRecord[];
    /** Runs certbot: waits for the edge, and every TLS vhost waits for it. */
    readonly issue: pulumi.CustomResource;
    /** Writes the renewal script and the cron entry. */
    readonly renewal: pulumi.CustomResource;

    constructor(name: string, args: LetsEncryptArgs, opts?: pulumi.ComponentResourceOptions) {
        const err = configErrors("LetsEncrypt", name, opts?.parent);
        checkArgs(err, LETS_ENCRYPT_ARGS, name, args);
        if (!(args.host instanceof Host))
            throw err("host", "is not a Host", "pass the Host whose edge serves the names");
        const host = args.host;
        checkDomains(err, args.domains);
        checkAccount(err, args);
        const dnsNames = args.dns !== undefined ? checkDns(err, host, args.dns, args.domains) : undefined;
        const certName = args.domains[0];
        const autoRenew = args.autoRenew ?? host.target !== "local";
        const names = letsEncryptNames(scopeOf(host), certName, autoRenew);
        claim(err, scopeOf(host), `LetsEncrypt "${name}"`, names);
        super("dropyard:index:LetsEncrypt", name, {}, opts);

        const edge = host.edge;
        this.host = host;
        this.domains = [...args.domains];
        this.certName = certName;
        this.certificatePath = path.posix.join(EDGE_PATHS.letsencrypt, "live", certName, "fullchain.pem");
        this.keyPath = path.posix.join(EDGE_PATHS.letsencrypt, "live", certName, "privkey.pem");
        const stateDir = names.stateDir.name;
        this.renewScript = path.posix.join(stateDir, "renew.sh");
        this.cronFile = names.cronFile?.name;
        this.dnsRecords = dnsNames !== undefined ? createDnsRecords(this, name, host, args.dns!, dnsNames) : [];

        const image = new docker.RemoteImage(
            `${name}-certbot-image`,
            {
                name: args.image ?? "certbot/certbot:v4.0.0",
                // Other certificates on the host and the renewal job use it too.
                keepLocally: true,
            },
            { parent: this, provider: host.provider, dependsOn: host.ready },
        );

        const run = pulumi.all(args.networks ?? []).apply((networks): CertbotRun => ({
            image: args.image ?? "certbot/certbot:v4.0.0",
            letsencryptDir: edge.letsencryptDir,
            webrootDir: edge.webrootDir,
            stateDir,
            networks,
            caBundle: args.serverCaBundle !== undefined,
        }));
        const request = {
            certName,
            domains: this.domains,
            email: args.email,
            staging: args.staging ?? false,
            server: args.server,
        };

        this.issue = host.command(
            `${name}-issue`,
            {
                create: pulumi.all([run, args.serverCaBundle]).apply(([r, ca]) =>
                    renderIssueScript({
                        run: r,
                        request,
                        edge: edge.containerName,
                        lockFile: edge.lockFile,
                        caBundlePem: ca,
                    }),
                ),
            },
            { parent: this, dependsOn: [edge, image, ...this.dnsRecords] },
        );

        const owner = `LetsEncrypt "${name}" on host "${host.hostName}"`;
        const cron =
            this.cronFile !== undefined
                ? { file: this.cronFile, schedule: cronSchedule(`${host.hostName}/${certName}`), owner }
                : undefined;
        this.renewal = host.command(
            `${name}-renewal`,
            {
                create: run.apply(r =>
                    renderRenewalInstallScript({
                        scriptPath: this.renewScript,
                        script: renderRenewScript({
                            run: r,
                            certName,
                            edge: edge.containerName,
                            lockFile: edge.lockFile,
                            owner,
                        }),
                        cron,
                    }),
                ),
                delete: renderRenewalRemoveScript({ scriptPath: this.renewScript, cronFile: this.cronFile }),
            },
            { parent: this, dependsOn: [this.issue] },
        );

        this.registerOutputs({
            certificatePath: this.certificatePath,
            keyPath: this.keyPath,
            renewScript: this.renewScript,
        });
    }
}

function checkDomains(err: ErrorFactory, domains: readonly string[] | undefined): void {
    if (!Array.isArray(domains) || domains.length === 0) {
        throw err("domains", "is empty", 'give at least one name, e.g. ["app.example.com"]');
    }
    const seen = new Set<string>();
    for (const [i, d] of domains.entries()) {
        if (d.startsWith("*.")) {
            throw err(
                `domains[${i}]`,
                `"${d}" is a wildcard, which Let's Encrypt issues only through the DNS-01 challenge and dropyard uses HTTP-01`,
                "list each name the certificate must cover instead",
            );
        }
        if (!isDomain(d)) {
            throw err(
                `domains[${i}]`,
                `"${d}" is not a domain name`,
                "use a fully qualified lower-case name such as app.example.com (no scheme, port or path)",
            );
        }
        if (seen.has(d)) throw err(`domains[${i}]`, `"${d}" is listed twice`, "list each name once");
        seen.add(d);
    }
}

function checkAccount(err: ErrorFactory, args: LetsEncryptArgs): void {
    if (args.staging === true && args.server !== undefined) {
        throw err(
            "staging",
            "and server are both given",
            "give staging: true for Let's Encrypt's staging CA, or server for another CA, not both",
        );
    }
    if (args.server !== undefined) {
        let url: URL | undefined;
        try {
            url = new URL(args.server);
        } catch {
            url = undefined;
        }
        if (url?.protocol !== "https:") {
            throw err(
                "server",
                `"${args.server}" is not an https URL`,
                "give the CA's ACME directory URL, e.g. https://pebble:14000/dir",
            );
        }
    }
    if (args.email !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(args.email)) {
        throw err("email", `"${args.email}" is not an email address`, "give an address such as ops@example.com");
    }
    if (args.email === undefined && args.staging !== true && args.server === undefined) {
        throw err(
            "email",
            "is missing",
            "Let's Encrypt production needs an address for expiry and account notices; give email (or staging: true while testing)",
        );
    }
    if (args.image !== undefined) checkImageReference(err, "image", args.image, "certbot/certbot:v4.0.0");
}
