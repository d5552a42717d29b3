import { isIPv4 } from "node:net";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import * as tls from "@pulumi/tls";
import { checkDns, createDnsRecords, DnsOptions } from "./dns";
import { configErrors, ErrorFactory } from "./errors";
import { Host } from "./host";
import { LetsEncrypt } from "./lets-encrypt";
import { EDGE_PATHS, Hsts, PLACEHOLDERS, renderVhost, templateProblems, VhostInput, VhostTls } from "./render/nginx";
import { checkPort, checkResourceName, isDomain } from "./validate";
import { checkArgs } from "./check";
import { claim, scopeOf, vhostNames } from "./claims";
import { NGINX_VHOST_ARGS } from "./schemas";

/**
 * What a vhost needs from an App (structural, so this file does not depend on lib/app/): its web
 * containers carry `alias` on the host's edge network and listen on `webPort`.
 */
export interface WebUpstream {
    /** The App's name, for messages. */
    readonly appName: string;
    /** The host the App runs on; a vhost must be on the same one. */
    readonly host: Host;
    /** Whether the App runs a `web` process at all. */
    readonly hasWeb: boolean;
    /** Whether its web containers join the host's edge network (`public: false` keeps them off). */
    readonly isPublic: boolean;
    /** The port its web containers listen on, when it has web containers. */
    readonly webPort: number | undefined;
    /** The name its web containers answer to on the edge network. */
    readonly alias: string;
    /**
     * What the edge proxies to instead of `alias`, when given: App's nginx upstream group, which its
     * deploy step points at the current web containers only (so old ones drain before they stop).
     */
    readonly edgeHost?: string;
}

/** Any container on the host's edge network: its name (or alias) and port. */
export interface NamedUpstream {
    /** The container's name or network alias on the host's edge network. */
    readonly name: string;
    /** The port it listens on inside the network. */
    readonly port: number;
}

/** A certificate and key you already have (PEM). The key is kept secret. */
export interface OwnCertificate {
    /** The certificate chain, leaf first. */
    readonly cert: pulumi.Input<string>;
    /** The private key; reaches the host on standard input and is kept as a secret. */
    readonly key: pulumi.Input<string>;
}

/** Arguments of an {@link NginxVhost}. */
export interface NginxVhostArgs {
    /** The host whose edge serves the site. */
    readonly host: Host;
    /**
     * Names this vhost answers, each on one vhost per host. `*.example.com` wildcards and IPv4
     * addresses are fine with self-signed or own certificates (not with a LetsEncrypt, whose names
     * must cover these). Empty: plain HTTP for every name no other vhost claims (e.g. the host's IP).
     * @default []
     */
    readonly domains?: string[];
    /** Where requests go: an App with a web process, or `{ name, port }` of a container on the edge network. */
    readonly upstream: WebUpstream | NamedUpstream;
    /**
     * HTTPS: a LetsEncrypt certificate, `"self-signed"` (made with @pulumi/tls; for IP-only hosts and
     * development), or your own `{ cert, key }`. Port 80 then redirects to https, except ACME challenges.
     * @default - plain HTTP
     */
    readonly tls?: LetsEncrypt | "self-signed" | OwnCertificate;
    /**
     * Strict-Transport-Security with TLS: `false` for none, or settings. Browsers remember it for
     * `maxAge`; start small when unsure the site stays on https.
     * @default { maxAge: 63072000 } (two years, no subdomains, no preload)
     */
    readonly hsts?:
        | false
        | {
              /** Seconds browsers remember to use https. @default 63072000 */
              readonly maxAge?: number;
              /** Whether the rule covers every subdomain too. @default false */
              readonly includeSubDomains?: boolean;
              /** Ask to be on browsers' preload list; needs `includeSubDomains` and a year or more. @default false */
              readonly preload?: boolean;
          };
    /** Largest request body, in nginx's units (`"0"` for no limit). @default "1m" */
    readonly clientMaxBodySize?: string;
    /** Proxy timeouts in seconds. @default { connect: 10, send: 60, read: 60 } */
    readonly proxyTimeouts?: {
        /** Seconds to open a connection to the upstream. @default 10 */
        readonly connect?: number;
        /** Seconds between two writes of the request to the upstream. @default 60 */
        readonly send?: number;
        /** Seconds between two reads of the response from the upstream. @default 60 */
        readonly read?: number;
    };
    /** Pass websocket upgrades (HTTP/1.1 with Upgrade and Connection). @default true */
    readonly websockets?: boolean;
    /** gzip responses of text types. @default true */
    readonly gzip?: boolean;
    /**
     * nginx directives added at server level of the server that proxies (HTTPS when there is TLS).
     * @example "location /static/ { alias /srv/static/; }"
     * @default ""
     */
    readonly extraConfig?: string;
    /**
     * Your own template for the whole file, Dokku-style, with {{placeholders}}: always
     * {{server_name}}, {{upstream}} and {{acme_location}}; with TLS also {{ssl_certificate}} and
     * {{ssl_certificate_key}}; optional {{name}}, {{resolver}}, {{proxy_settings}}, {{extra_config}},
     * {{redirect_to_https}}, {{ssl_settings}}. Start from `defaultVhostTemplate(tls)`.
     * @default - the built-in template
     */
    readonly template?: string;
    /**
     * A (and AAAA) records for the names in this DigitalOcean zone (droplet hosts only). With a
     * LetsEncrypt certificate give `dns` to the LetsEncrypt instead: it needs the records first.
     * @default - no records
     */
    readonly dns?: DnsOptions;
}

/**
 * One site on a host's edge: a server block rendered by a pure function, put into the edge's conf.d
 * with `Edge.files` (tested with `nginx -t`, the old file back when nginx rejects the new one,
 * reloaded: docs/architecture.md#the-edges-file-protocol). Deleting the vhost takes it out again.
 * Upstreams are resolved through Docker's DNS at request time, so nginx starts while an app is
 * missing and follows containers that were replaced.
 */
export class NginxVhost extends pulumi.ComponentResource {
    /** The host whose edge serves the site. */
    readonly host: Host;
    /** The names the site answers. */
    readonly domains: readonly string[];
    /** The file's text, as written. */
    readonly config: string;
    /** The file on the host. */
    readonly configPath: string;
    /** `https://<first name>` or `http://...`; for a vhost without names, the host's address. */
    readonly url: pulumi.Output<string>;
    /** The A/AAAA records made when `dns` is given; empty otherwise. */
    readonly dnsRecords: digitalocean.DnsRecord[];
    /** Writes, tests and reloads the file. */
    readonly install: pulumi.CustomResource;

    constructor(name: string, args: NginxVhostArgs, opts?: pulumi.ComponentResourceOptions) {
        const err = configErrors("NginxVhost", name, opts?.parent);
        checkArgs(err, NGINX_VHOST_ARGS, name, args);
        checkResourceName(err, "name", name);
        if (!(args.host instanceof Host))
            throw err("host", "is not a Host", "pass the Host whose edge serves this vhost");
        const host = args.host;
        const domains = [...(args.domains ?? [])];
        checkDomains(err, domains);
        const upstream = checkUpstream(err, host, args.upstream);
        const certificate = checkTls(err, host, args.tls, domains);
        const hsts = normalizeHsts(err, args.hsts);
        const timeouts = normalizeTimeouts(err, args.proxyTimeouts);
        const clientMaxBodySize = args.clientMaxBodySize ?? "1m";
        if (!/^\d+[kKmMgG]?$/.test(clientMaxBodySize)) {
            throw err(
                "clientMaxBodySize",
                `"${clientMaxBodySize}" is not an nginx size`,
                'use a number with an optional k, m or g, e.g. "64m" ("0" for no limit)',
            );
        }
        if (args.template !== undefined) checkTemplate(err, args.template, args.tls !== undefined, args.extraConfig);
        let dnsNames: Map<string, string> | undefined;
        if (args.dns !== undefined) {
            if (args.tls instanceof LetsEncrypt) {
                throw err(
                    "dns",
                    `is given, but LetsEncrypt "${args.tls.certName}" is issued before this vhost exists and needs the records first`,
                    "move dns to the LetsEncrypt",
                );
            }
            dnsNames = checkDns(err, host, args.dns, domains);
        }
        const names = vhostNames(scopeOf(host), name, domains, certificate !== undefined);
        claim(err, scopeOf(host), `NginxVhost "${name}"`, names);
        super("dropyard:index:NginxVhost", name, {}, opts);

        // Defaults are settled; from here on, only resources.
        const edge = host.edge;
        this.host = host;
        this.domains = domains;
        this.configPath = names.config.name;
        const certDir = names.certDir?.name ?? "";
        const vhostTls: VhostTls | undefined =
            args.tls === undefined
                ? undefined
                : args.tls instanceof LetsEncrypt
                  ? { certificate: args.tls.certificatePath, key: args.tls.keyPath, hsts }
                  : {
                        certificate: path.posix.join(EDGE_PATHS.certs, name, "fullchain.pem"),
                        key: path.posix.join(EDGE_PATHS.certs, name, "privkey.pem"),
                        hsts,
                    };
        this.config = renderVhost({
            name,
            serverNames: domains,
            upstream,
            tls: vhostTls,
            publicPorts: { http: edge.httpPort, https: edge.httpsPort },
            clientMaxBodySize,
            timeouts,
            websockets: args.websockets ?? true,
            gzip: args.gzip ?? true,
            extraConfig: args.extraConfig ?? "",
            template: args.template,
        });
        this.dnsRecords = dnsNames !== undefined ? createDnsRecords(this, name, host, args.dns!, dnsNames) : [];

        // Certificate files dropyard writes itself; the key travels on standard input, never in the script.
        let certFiles: pulumi.CustomResource | undefined;
        if (certificate !== undefined) {
            const pem = certificate === "self-signed" ? this.selfSigned(name, domains) : certificate;
            certFiles = edge.files(
                `${name}-tls`,
                {
                    dirs: [certDir],
                    ownDirs: true,
                    files: [
                        { path: path.posix.join(certDir, "fullchain.pem"), content: pem.cert },
                        { path: path.posix.join(certDir, "privkey.pem"), content: pem.key, secret: true, mode: "0600" },
                    ],
                },
                { parent: this },
            );
        }

        this.install = edge.files(
            `${name}-config`,
            {
                dirs: [edge.confDir],
                files: [{ path: this.configPath, content: this.config }],
            },
            {
                parent: this,
                // The certificate first, the edge before both: never the other way round. An App
                // upstream first too: its deploy step defines the variable the file proxies to.
                dependsOn: [
                    ...(args.tls instanceof LetsEncrypt ? [args.tls] : []),
                    ...(certFiles ? [certFiles] : []),
                    ...(pulumi.Resource.isInstance(args.upstream) ? [args.upstream] : []),
                ],
            },
        );

        const scheme = args.tls !== undefined ? "https" : "http";
        const port =
            args.tls !== undefined
                ? edge.httpsPort === 443
                    ? ""
                    : `:${edge.httpsPort}`
                : edge.httpPort === 80
                  ? ""
                  : `:${edge.httpPort}`;
        this.url =
            domains.length > 0
                ? pulumi.output(`${scheme}://${domains[0]}${port}`)
                : pulumi.interpolate`${scheme}://${host.address}${port}`;
        this.registerOutputs({ url: this.url, configPath: this.configPath });
    }

    /** An ECDSA key and a one-year self-signed certificate for the names (IPs as IP SANs). */
    private selfSigned(name: string, domains: readonly string[]): OwnCertificate {
        const key = new tls.PrivateKey(`${name}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
        const cert = new tls.SelfSignedCert(
            `${name}-cert`,
            {
                privateKeyPem: key.privateKeyPem,
                subject: { commonName: domains[0] },
                dnsNames: domains.filter(d => !isIPv4(d)),
                ipAddresses: domains.filter(d => isIPv4(d)),
                validityPeriodHours: 365 * 24,
                // A `pulumi up` in the last 30 days makes a new one.
                earlyRenewalHours: 30 * 24,
                allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
            },
            { parent: this },
        );
        return { cert: cert.certPem, key: key.privateKeyPem };
    }
}

function checkDomains(err: ErrorFactory, domains: readonly string[]): void {
    const seen = new Set<string>();
    for (const [i, d] of domains.entries()) {
        const name = d.startsWith("*.") ? d.slice(2) : d;
        if (!isDomain(name) && !isIPv4(d)) {
            throw err(
                `domains[${i}]`,
                `"${d}" is not a domain name`,
                "use a fully qualified lower-case name such as app.example.com (no scheme, port or path), a *.example.com wildcard or an IPv4 address",
            );
        }
        if (seen.has(d)) throw err(`domains[${i}]`, `"${d}" is listed twice`, "list each name once");
        seen.add(d);
    }
}

/** Names on the edge network: Docker container names and aliases. */
const UPSTREAM_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function checkUpstream(
    err: ErrorFactory,
    host: Host,
    u: WebUpstream | NamedUpstream | undefined,
): VhostInput["upstream"] {
    if (u === undefined || u === null)
        throw err("upstream", "is missing", "give an App with a web process, or { name, port }");
    if ("hasWeb" in u) {
        if (u.host !== host) {
            throw err(
                "upstream",
                `App "${u.appName}" runs on host "${u.host.hostName}", not "${host.hostName}"`,
                "put the vhost on the App's host",
            );
        }
        if (!u.hasWeb || u.webPort === undefined) {
            throw err(
                "upstream",
                `App "${u.appName}" has no web process`,
                'give the App a web process (a "web:" line in its Procfile), or point upstream at { name, port }',
            );
        }
        if (!u.isPublic) {
            throw err(
                "upstream",
                `App "${u.appName}" is not public, so the edge cannot reach it`,
                "drop public: false from the App, or serve another app",
            );
        }
        return u.edgeHost !== undefined ? { group: u.edgeHost } : { host: u.alias, port: u.webPort };
    }
    if (typeof u.name !== "string" || !UPSTREAM_NAME.test(u.name)) {
        throw err(
            "upstream.name",
            `"${u.name}" is not a container name`,
            "use the name or network alias of a container on the host's edge network",
        );
    }
    checkPort(err, "upstream.port", u.port);
    return { host: u.name, port: u.port };
}

/** Returns what must be written as files (self-signed or own), or undefined (none, or Let's Encrypt). */
function checkTls(
    err: ErrorFactory,
    host: Host,
    t: NginxVhostArgs["tls"],
    domains: readonly string[],
): "self-signed" | OwnCertificate | undefined {
    if (t === undefined) return undefined;
    if (domains.length === 0) {
        throw err(
            "tls",
            "is given, but domains is empty",
            "list the names the certificate is for in domains (a vhost without names serves plain HTTP only)",
        );
    }
    if (t instanceof LetsEncrypt) {
        if (t.host !== host) {
            throw err(
                "tls",
                `LetsEncrypt "${t.certName}" is issued on host "${t.host.hostName}", not "${host.hostName}"`,
                "use a certificate made for this host",
            );
        }
        for (const [i, d] of domains.entries()) {
            if (!t.domains.includes(d)) {
                throw err(
                    `domains[${i}]`,
                    `"${d}" is not on the certificate (LetsEncrypt "${t.certName}": ${t.domains.join(", ")})`,
                    "add the name to the LetsEncrypt's domains, or remove it here",
                );
            }
        }
        return undefined;
    }
    if (t === "self-signed") return t;
    if (typeof t === "object" && t !== null && "cert" in t && "key" in t && t.cert !== undefined && t.key !== undefined)
        return t;
    throw err(
        "tls",
        'is not a LetsEncrypt, "self-signed" or { cert, key }',
        "give one of those, or leave tls out for plain HTTP",
    );
}

function normalizeHsts(err: ErrorFactory, h: NginxVhostArgs["hsts"]): Hsts | false {
    if (h === false) return false;
    const maxAge = h?.maxAge ?? 63072000;
    if (!Number.isInteger(maxAge) || maxAge < 0)
        throw err(
            "hsts.maxAge",
            `${maxAge} is not a number of seconds`,
            "use a whole number, e.g. 63072000 (two years)",
        );
    const preload = h?.preload ?? false;
    const includeSubDomains = h?.includeSubDomains ?? false;
    if (preload && (!includeSubDomains || maxAge < 31536000)) {
        throw err(
            "hsts.preload",
            "needs includeSubDomains and a maxAge of at least 31536000 (browsers' preload list rules)",
            "set both, or leave preload off",
        );
    }
    return { maxAge, includeSubDomains, preload };
}

function normalizeTimeouts(
    err: ErrorFactory,
    t: NginxVhostArgs["proxyTimeouts"],
): { connect: number; send: number; read: number } {
    const out = { connect: t?.connect ?? 10, send: t?.send ?? 60, read: t?.read ?? 60 };
    for (const [k, v] of Object.entries(out)) {
        if (!Number.isInteger(v) || v < 1)
            throw err(`proxyTimeouts.${k}`, `${v} is not a number of seconds`, "use a whole number, 1 or more");
    }
    return out;
}

function checkTemplate(err: ErrorFactory, template: string, tls: boolean, extraConfig: string | undefined): void {
    const p = templateProblems(template, tls);
    const list = (names: string[]) => names.map(n => `{{${n}}}`).join(", ");
    if (p.missing.length > 0) {
        throw err(
            "template",
            `is missing the placeholders ${list(p.missing)}`,
            `add them (${p.missing.map(n => `{{${n}}}: ${PLACEHOLDERS[n].doc}`).join("; ")})`,
        );
    }
    if (p.unknown.length > 0) {
        throw err(
            "template",
            `uses unknown placeholders ${list(p.unknown)}`,
            `use only ${list(Object.keys(PLACEHOLDERS))}`,
        );
    }
    if (p.needTls.length > 0) {
        throw err("template", `uses ${list(p.needTls)}, which need tls`, "give tls, or remove them");
    }
    if (extraConfig !== undefined && extraConfig.trim() !== "" && !template.match(/\{\{\s*extra_config\s*\}\}/)) {
        throw err(
            "extraConfig",
            "is given, but the template has no {{extra_config}}",
            "add {{extra_config}} to the template, or put the directives in it",
        );
    }
}
