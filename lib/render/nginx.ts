// nginx configuration for the edge: its default server and one file per vhost. Pure functions of
// plain values; test/render feeds every variant to a real `nginx -t`. Vhost files are rendered from
// a template with {{placeholders}} (the built-in ones below, or a user's own, Dokku-style).

/** Where things are inside the edge container; the Edge bind-mounts host directories here. */
export const EDGE_PATHS = {
    /** The official image's nginx.conf includes `conf.d/*.conf` inside `http {}`. */
    confDir: "/etc/nginx/conf.d",
    /** Certificates dropyard writes itself (self-signed, or given as `{ cert, key }`). */
    certs: "/etc/dropyard/certs",
    /** certbot's config dir: `live/<name>/fullchain.pem` and `privkey.pem`. */
    letsencrypt: "/etc/letsencrypt",
    /** The ACME HTTP-01 webroot certbot writes challenge files into. */
    webroot: "/var/www/acme",
} as const;

/** The edge's nginx.conf, rendered by dropyard (renderEdgeMain) and bind-mounted over the image's. */
export const EDGE_MAIN_CONFIG = "/etc/nginx/nginx.conf";

/** Connections each edge worker may hold: a proxied request holds two (client and app). */
export const EDGE_WORKER_CONNECTIONS = 8192;

/** Docker's embedded DNS server, present in every container on a user-defined network. */
export const DOCKER_DNS = "127.0.0.11";

/** Mozilla's "intermediate" profile (generator 6.0): TLS 1.2 and 1.3, AEAD ciphers with forward secrecy. */
const MOZILLA_INTERMEDIATE = [
    "ssl_protocols TLSv1.2 TLSv1.3;",
    "ssl_ecdh_curve X25519:prime256v1:secp384r1;",
    "ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;",
    "ssl_prefer_server_ciphers off;",
    "ssl_session_timeout 1d;",
    // One zone name and size in every file: nginx shares the zone between server blocks.
    "ssl_session_cache shared:MozSSL:10m;",
    "ssl_session_tickets off;",
    // No OCSP stapling: Let's Encrypt certificates no longer carry an OCSP URL, self-signed ones never did.
];

const GZIP = [
    "gzip on;",
    "gzip_vary on;",
    "gzip_proxied any;",
    // Level 1 (nginx's own default) keeps most of the size win; at level 5 the bench measured the edge
    // serving 15% fewer small pages per second than the app itself.
    "gzip_comp_level 1;",
    "gzip_min_length 256;",
    "gzip_types text/plain text/css text/xml text/javascript application/javascript application/json application/xml application/rss+xml application/atom+xml image/svg+xml;",
];

/** Each dropyard server's access log: the edge's log_format, buffered (see renderEdgeDefault). */
const ACCESS_LOG = "access_log /var/log/nginx/access.log dropyard buffer=64k flush=1s;";

function acmeLocation(): string {
    return [
        "location ^~ /.well-known/acme-challenge/ {",
        `    root ${EDGE_PATHS.webroot};`,
        "    default_type text/plain;",
        "}",
    ].join("\n");
}

/**
 * The edge's nginx.conf: the official image's, with room for more connections. The image's own allows each worker
 * 1024, which `events {}` holds and no conf.d file can change; under load the edge then answered 500 ("1024
 * worker_connections are not enough while connecting to upstream", bench/README.md). Each worker raises its own
 * open-file limit to match, within the container's hard limit (Docker's default is far above it on a host).
 */
export function renderEdgeMain(): string {
    return `# dropyard: the edge's nginx.conf, the official image's with more connections per worker. Rewritten on every
# deploy; do not edit.
user nginx;
worker_processes auto;
# A file per connection, and room to spare; a container starts with a soft limit that may be 1024.
worker_rlimit_nofile ${2 * EDGE_WORKER_CONNECTIONS};

error_log /var/log/nginx/error.log notice;
pid /run/nginx.pid;

# Modules an image enables this way (Debian's packages do); none in the official image.
include /etc/nginx/modules-enabled/*.conf;

events {
    worker_connections ${EDGE_WORKER_CONNECTIONS};
}

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;

    log_format main '$remote_addr - $remote_user [$time_local] "$request" '
                    '$status $body_bytes_sent "$http_referer" '
                    '"$http_user_agent" "$http_x_forwarded_for"';
    access_log /var/log/nginx/access.log main;

    sendfile on;
    keepalive_timeout 65;

    include ${EDGE_PATHS.confDir}/*.conf;
}
`;
}

/**
 * The edge's own file (`conf.d/00-dropyard.conf`): http-level settings every vhost relies on, and
 * default servers that answer ACME challenges for any name on port 80 (so a certificate never waits
 * for a vhost) and refuse everything else: 444 closes the connection on 80, and 443 rejects the TLS
 * handshake, so no certificate is shown for a name this host does not serve.
 */
export function renderEdgeDefault(): string {
    return `# dropyard: the edge's defaults. Rewritten on every deploy; do not edit.

# The Connection header a websocket upgrade needs, and none otherwise, so connections to an App stay open for
# the next request. A map must sit at http level, so it lives here once rather than in each vhost file.
map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      '';
}

server_tokens off;
# Long domain names overflow the default bucket.
server_names_hash_bucket_size 128;

# The official image's "main" format, under a name of our own so an edge image without it still loads.
# Every dropyard server logs with it through a buffer: a line per request written straight to the
# container's output costs Docker's log copier about 130 us of CPU per request, as much as nginx itself
# (bench/README.md); buffered, lines reach \`docker logs\` within a second.
log_format dropyard '$remote_addr - $remote_user [$time_local] "$request" '
                    '$status $body_bytes_sent "$http_referer" '
                    '"$http_user_agent" "$http_x_forwarded_for"';

server {
    listen 80 default_server;
    server_name _;
    ${ACCESS_LOG}

${indent(acmeLocation(), "    ")}

    location / {
        return 444;
    }
}

server {
    listen 443 ssl default_server;
    server_name _;
    ssl_reject_handshake on;
    ${ACCESS_LOG}
}
`;
}

export interface Hsts {
    /** Seconds browsers remember to use https only. */
    readonly maxAge: number;
    readonly includeSubDomains: boolean;
    readonly preload: boolean;
}

export interface VhostTls {
    /** Certificate chain and key as nginx inside the edge sees them. */
    readonly certificate: string;
    readonly key: string;
    /** `false` sends no Strict-Transport-Security header. */
    readonly hsts: Hsts | false;
}

export interface VhostInput {
    /** The NginxVhost's name, for the file's header. */
    readonly name: string;
    /** Names this vhost answers; empty means every name no other vhost claims (plain HTTP only). */
    readonly serverNames: readonly string[];
    /**
     * Where requests go: a host name on the edge network (resolved by Docker's DNS per request) and port, or
     * an upstream group defined in another conf.d file (an App's, which keeps connections open).
     */
    readonly upstream: { readonly host: string; readonly port: number } | { readonly group: string };
    /** Absent: plain HTTP. */
    readonly tls?: VhostTls;
    /** Ports the world uses (the edge's published ports): for redirects and X-Forwarded-Port. */
    readonly publicPorts: { readonly http: number; readonly https: number };
    /** nginx size, e.g. `"1m"`, `"64m"`, `"0"` (no limit). */
    readonly clientMaxBodySize: string;
    /** Seconds. */
    readonly timeouts: { readonly connect: number; readonly send: number; readonly read: number };
    readonly websockets: boolean;
    readonly gzip: boolean;
    /** Directives placed at server level of the server that proxies. */
    readonly extraConfig: string;
    /** A template with {{placeholders}}; the built-in one when absent. */
    readonly template?: string;
}

/** Placeholders a vhost template may use, what each becomes, and when it is required. */
export const PLACEHOLDERS: Readonly<
    Record<string, { readonly doc: string; readonly required?: "always" | "tls"; readonly tlsOnly?: boolean }>
> = {
    name: { doc: "the NginxVhost's name" },
    server_name: { doc: "the names, space-separated, for `server_name`", required: "always" },
    upstream: {
        doc: "`http://<name>:<port>`, or `http://<group>` for an App; use `set $upstream {{upstream}}; proxy_pass $upstream;` with {{resolver}}: nginx finds an App's group by that name and resolves any other name per request",
        required: "always",
    },
    acme_location: {
        doc: "the `location` that serves ACME challenges; without it on port 80 certificates cannot renew",
        required: "always",
    },
    resolver: { doc: "`resolver 127.0.0.11 ...`: Docker's DNS, re-asked every few seconds" },
    proxy_settings: {
        doc: "headers, websockets, timeouts, retries, body size and gzip (valid at server or location level)",
    },
    extra_config: { doc: "the vhost's `extraConfig`" },
    redirect_to_https: { doc: "`return 301 https://...;`", tlsOnly: true },
    ssl_certificate: { doc: "the certificate chain's path", required: "tls", tlsOnly: true },
    ssl_certificate_key: { doc: "the private key's path", required: "tls", tlsOnly: true },
    ssl_settings: { doc: "Mozilla intermediate TLS settings and the HSTS header", tlsOnly: true },
};

/** The end of the server block that proxies, the same with and without TLS. */
const PROXY_TO_UPSTREAM = `    {{resolver}}
    set $upstream {{upstream}};
    # At server level, so locations in extra config inherit them.
    {{proxy_settings}}

    location / {
        proxy_pass $upstream;
    }

    {{extra_config}}
}
`;

const HTTP_TEMPLATE = `# dropyard: NginxVhost "{{name}}". Rewritten on every deploy; change the stack program instead.
server {
    listen 80;
    server_name {{server_name}};
    ${ACCESS_LOG}

    {{acme_location}}

${PROXY_TO_UPSTREAM}`;

const TLS_TEMPLATE = `# dropyard: NginxVhost "{{name}}". Rewritten on every deploy; change the stack program instead.
server {
    listen 80;
    server_name {{server_name}};
    ${ACCESS_LOG}

    {{acme_location}}

    location / {
        {{redirect_to_https}}
    }
}

server {
    # The edge is nginx 1.27.3 or later (Apps' upstream groups use "resolve"), so "http2 on" (1.25.1),
    # not the "listen ... http2" flag those versions warn about at every start and reload.
    listen 443 ssl;
    http2 on;
    server_name {{server_name}};
    ${ACCESS_LOG}

    ssl_certificate {{ssl_certificate}};
    ssl_certificate_key {{ssl_certificate_key}};
    {{ssl_settings}}

${PROXY_TO_UPSTREAM}`;

/** The built-in template, a starting point for one's own. */
export function defaultVhostTemplate(tls: boolean): string {
    return tls ? TLS_TEMPLATE : HTTP_TEMPLATE;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

/** The placeholder names a template uses, in order of first use. */
export function placeholdersIn(template: string): string[] {
    return [...new Set([...template.matchAll(PLACEHOLDER)].map(m => m[1]))];
}

/** What is wrong with a template for a vhost with or without TLS (all empty when nothing is). */
export function templateProblems(
    template: string,
    tls: boolean,
): { missing: string[]; unknown: string[]; needTls: string[] } {
    const used = new Set(placeholdersIn(template));
    const missing = Object.entries(PLACEHOLDERS)
        .filter(([k, p]) => !used.has(k) && (p.required === "always" || (tls && p.required === "tls")))
        .map(([k]) => k);
    const unknown = [...used].filter(k => !(k in PLACEHOLDERS));
    const needTls = tls ? [] : [...used].filter(k => PLACEHOLDERS[k]?.tlsOnly);
    return { missing, unknown, needTls };
}

function serverNames(names: readonly string[]): string {
    // No names: a regex that matches any non-empty Host, plus "" for requests without one. Exact
    // and wildcard names of other vhosts still win; only the edge's 444 default is displaced.
    return names.length > 0 ? names.join(" ") : `~. ""`;
}

function proxySettings(v: VhostInput, port: number): string {
    return [
        `client_max_body_size ${v.clientMaxBodySize};`,
        "proxy_http_version 1.1;",
        ...(v.websockets
            ? ["proxy_set_header Upgrade $http_upgrade;", "proxy_set_header Connection $connection_upgrade;"]
            : // nginx sends "Connection: close" unless told otherwise, which would end each upstream connection.
              ['proxy_set_header Connection "";']),
        "proxy_set_header Host $http_host;",
        // The edge is the first proxy: what a client sends in X-Forwarded-For is not to be trusted.
        "proxy_set_header X-Real-IP $remote_addr;",
        "proxy_set_header X-Forwarded-For $remote_addr;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        `proxy_set_header X-Forwarded-Port ${port};`,
        `proxy_set_header X-Request-Start "t=\${msec}";`,
        `proxy_connect_timeout ${v.timeouts.connect}s;`,
        `proxy_send_timeout ${v.timeouts.send}s;`,
        `proxy_read_timeout ${v.timeouts.read}s;`,
        // With several containers behind one alias, a refused or timed-out connection (a container
        // going away) moves to the next address; requests that are not idempotent are never retried.
        "proxy_next_upstream error timeout;",
        "proxy_next_upstream_tries 3;",
        ...(v.gzip ? GZIP : []),
    ].join("\n");
}

function sslSettings(tls: VhostTls): string {
    const lines = [...MOZILLA_INTERMEDIATE];
    if (tls.hsts !== false) {
        const h = tls.hsts;
        const value = [
            `max-age=${h.maxAge}`,
            ...(h.includeSubDomains ? ["includeSubDomains"] : []),
            ...(h.preload ? ["preload"] : []),
        ].join("; ");
        lines.push(`add_header Strict-Transport-Security "${value}" always;`);
    }
    return lines.join("\n");
}

/** The vhost's file for the edge's conf.d. */
export function renderVhost(v: VhostInput): string {
    const tls = v.tls !== undefined;
    const template = v.template ?? defaultVhostTemplate(tls);
    const problems = templateProblems(template, tls);
    const bad = [...problems.missing, ...problems.unknown, ...problems.needTls];
    if (bad.length > 0) throw new Error(`renderVhost: template placeholders wrong: ${bad.join(", ")}`);
    const httpsPort = v.publicPorts.https === 443 ? "" : `:${v.publicPorts.https}`;
    const values: Record<string, string> = {
        name: v.name,
        server_name: serverNames(v.serverNames),
        upstream: "group" in v.upstream ? `http://${v.upstream.group}` : `http://${v.upstream.host}:${v.upstream.port}`,
        acme_location: acmeLocation(),
        resolver: `resolver ${DOCKER_DNS} valid=5s ipv6=off;\nresolver_timeout 5s;`,
        proxy_settings: proxySettings(v, tls ? v.publicPorts.https : v.publicPorts.http),
        extra_config: v.extraConfig.trim(),
    };
    if (v.tls) {
        Object.assign(values, {
            redirect_to_https: `return 301 https://$host${httpsPort}$request_uri;`,
            ssl_certificate: v.tls.certificate,
            ssl_certificate_key: v.tls.key,
            ssl_settings: sslSettings(v.tls),
        });
    }
    const text = substitute(template, values);
    // Tidy only our own templates; a user's template comes out exactly as written.
    return v.template === undefined ? tidy(text) : text;
}

/**
 * Replaces each {{placeholder}} with its value; a value of several lines keeps the placeholder's
 * indentation. Unknown placeholders stay as they are.
 */
export function substitute(template: string, values: Readonly<Record<string, string>>): string {
    return template.replace(PLACEHOLDER, (match, key: string, offset: number, whole: string) => {
        if (!(key in values)) return match;
        const lineStart = whole.lastIndexOf("\n", offset - 1) + 1;
        const before = whole.slice(lineStart, offset);
        const pad = /^[ \t]*$/.test(before) ? before : "";
        return values[key].split("\n").join(`\n${pad}`);
    });
}

/** Drops trailing spaces, runs of blank lines and blank lines before a closing brace (left by empty values). */
function tidy(text: string): string {
    return text
        .replace(/[ \t]+$/gm, "")
        .replace(/\n{3,}/g, "\n\n")
        .replace(/\n\n([ \t]*})/g, "\n$1");
}

function indent(text: string, pad: string): string {
    return text
        .split("\n")
        .map(l => (l ? pad + l : l))
        .join("\n");
}
