import { test } from "node:test";
import * as assert from "node:assert/strict";
import { evaluate, isSecretAt } from "../../sandbox/harness";
import { rejectsBeforeCreating } from "../support/helpers";
import { Host, LetsEncrypt, NginxVhost, NginxVhostArgs, WebUpstream } from "../../lib";
import { CONTAINER, LOCAL_COMMAND } from "../support/types";
import { localHost } from "../support/fixtures";

const T = {
    command: LOCAL_COMMAND,
    container: CONTAINER,
    key: "tls:index/privateKey:PrivateKey",
    cert: "tls:index/selfSignedCert:SelfSignedCert",
    dns: "digitalocean:index/dnsRecord:DnsRecord",
};
const web = { name: "counter-web", port: 5000 };
const box = () => localHost("box", { dataDir: "/srv/dy" });
const site = (host: Host, args: Partial<NginxVhostArgs> = {}, name = "site") =>
    new NginxVhost(name, { host, domains: ["counter.example.com"], upstream: web, ...args });

test("NginxVhost writes its file into the edge's conf.d, tests it in the edge and reloads", async () => {
    let v: NginxVhost | undefined;
    const g = await evaluate(() => {
        v = site(box());
    });
    const c = g.one(T.command, "site-config");
    assert.equal(c.parent, "dropyard:index:NginxVhost::site");
    const script: string = c.inputs.create;
    assert.ok(
        script.includes(
            `cat > '/srv/dy/nginx/conf.d/vhost-site.conf.new' <<'DROPYARD_EOF'\n# dropyard-owner: test/dev\n${v!.config}DROPYARD_EOF`,
        ),
    );
    // Lock, write aside, move into place, test and reload in one exec, put the old file back when rejected.
    const order = [
        "flock",
        "vhost-site.conf.new",
        `mv -f "$f.new" "$f"`,
        `out=$(nginx -t 2>&1)`,
        "nginx -s reload",
        "reload_edge || code=$?",
        "2) restore\n",
    ];
    let at = 0;
    for (const step of order) {
        const found = script.indexOf(step, at);
        assert.ok(found >= 0, `missing, or out of order: ${step}`);
        at = found;
    }
    assert.match(script, /^edge='box-nginx'$/m);
    assert.equal(v!.configPath, "/srv/dy/nginx/conf.d/vhost-site.conf");
});

test("deleting a vhost removes its file and reloads the edge", async () => {
    const g = await evaluate(() => {
        site(box());
    });
    const del: string = g.one(T.command, "site-config").inputs.delete;
    assert.match(del, /rm -f '\/srv\/dy\/nginx\/conf\.d\/vhost-site\.conf'/);
    assert.ok(del.indexOf("rm -f") < del.indexOf("nginx -s reload"));
});

test("plain HTTP: one server on 80 with the ACME location, proxying through Docker's DNS at request time", async () => {
    let v: NginxVhost | undefined;
    const g = await evaluate(() => {
        v = site(box());
        return { url: v.url };
    });
    assert.equal(g.outputs.url, "http://counter.example.com");
    const conf = v!.config;
    assert.equal(conf.match(/server \{/g)?.length, 1);
    assert.match(conf, /location \^~ \/\.well-known\/acme-challenge\//);
    assert.match(conf, /resolver 127\.0\.0\.11 valid=5s ipv6=off;/);
    assert.match(conf, /set \$upstream http:\/\/counter-web:5000;/);
    assert.match(conf, /proxy_pass \$upstream;/);
    assert.match(conf, /proxy_next_upstream error timeout;/);
    for (const h of [
        "Host \\$http_host",
        "X-Forwarded-For \\$remote_addr",
        "X-Forwarded-Proto \\$scheme",
        "X-Forwarded-Port 80",
        'X-Request-Start "t=\\$\\{msec\\}"',
    ]) {
        assert.match(conf, new RegExp(`proxy_set_header ${h};`));
    }
    assert.doesNotMatch(conf, /listen 443/);
});

test("an App upstream: the web containers' alias on the edge network and the web port", async () => {
    let v: NginxVhost | undefined;
    await evaluate(() => {
        const host = box();
        const app: WebUpstream = {
            appName: "counter",
            host,
            hasWeb: true,
            isPublic: true,
            webPort: 8000,
            alias: "counter-web",
        };
        v = site(host, { upstream: app });
    });
    assert.match(v!.config, /set \$upstream http:\/\/counter-web:8000;/);
});

test("Let's Encrypt: the edge, then the certificate, then the vhost — never the other way round", async () => {
    let v: NginxVhost | undefined;
    const g = await evaluate(() => {
        const host = box();
        const cert = new LetsEncrypt("cert", { host, domains: ["counter.example.com"], email: "ops@example.com" });
        v = site(host, { tls: cert });
        return { url: v.url };
    });
    const edge = g.one(T.container, "box-edge-nginx");
    const issue = g.one(T.command, "cert-issue");
    const vhost = g.one(T.command, "site-config");
    assert.ok(g.waitsFor(issue, edge));
    assert.ok(g.waitsFor(vhost, issue));
    assert.ok(g.waitsFor(vhost, edge));
    assert.ok(!g.waitsFor(edge, issue));
    assert.ok(!g.waitsFor(issue, vhost));
    assert.match(v!.config, /ssl_certificate \/etc\/letsencrypt\/live\/counter\.example\.com\/fullchain\.pem;/);
    assert.match(v!.config, /ssl_certificate_key \/etc\/letsencrypt\/live\/counter\.example\.com\/privkey\.pem;/);
    assert.equal(g.outputs.url, "https://counter.example.com");
    // No certificate files of its own to write.
    assert.equal(g.ofType(T.command).filter(c => c.name === "site-tls").length, 0);
});

test("TLS: 80 keeps ACME and redirects the rest; 443 uses Mozilla intermediate, HSTS, no OCSP stapling", async () => {
    let v: NginxVhost | undefined;
    await evaluate(() => {
        v = site(box(), { tls: "self-signed" });
    });
    const [http, https] = v!.config.split(/\n(?=server \{)/).slice(1);
    assert.match(http, /listen 80;/);
    assert.match(http, /acme-challenge/);
    assert.match(http, /return 301 https:\/\/\$host\$request_uri;/);
    assert.doesNotMatch(http, /proxy_pass/);
    assert.match(https, /listen 443 ssl;\n\s+http2 on;/);
    assert.doesNotMatch(v!.config, /^\s*listen [^;]*http2/m, "the listen flag nginx 1.25.1 and later deprecate");
    assert.match(https, /ssl_protocols TLSv1\.2 TLSv1\.3;/);
    assert.match(
        https,
        /ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;/,
    );
    assert.match(https, /ssl_session_cache shared:MozSSL:10m;\n\s+ssl_session_tickets off;/);
    assert.match(https, /ssl_session_timeout 1d;/);
    assert.match(https, /add_header Strict-Transport-Security "max-age=63072000" always;/);
    assert.match(https, /proxy_set_header X-Forwarded-Port 443;/);
    assert.doesNotMatch(v!.config, /ssl_stapling/);
});

test("HSTS can be tuned or turned off", async () => {
    let on: NginxVhost | undefined, off: NginxVhost | undefined;
    await evaluate(() => {
        const host = box();
        on = site(host, { tls: "self-signed", hsts: { maxAge: 31536000, includeSubDomains: true, preload: true } });
        off = site(host, { tls: "self-signed", hsts: false, domains: ["other.example.com"] }, "other");
    });
    assert.match(on!.config, /Strict-Transport-Security "max-age=31536000; includeSubDomains; preload" always;/);
    assert.doesNotMatch(off!.config, /Strict-Transport-Security/);
});

test("self-signed: a @pulumi/tls key and certificate for the names (IPs as IP SANs), written with the key kept secret", async () => {
    const g = await evaluate(() => {
        site(box(), { tls: "self-signed", domains: ["dev.example.com", "203.0.113.10"] });
    });
    assert.equal(g.one(T.key, "site-key").inputs.algorithm, "ECDSA");
    const cert = g.one(T.cert, "site-cert").inputs;
    assert.deepEqual(cert.dnsNames, ["dev.example.com"]);
    assert.deepEqual(cert.ipAddresses, ["203.0.113.10"]);
    assert.ok(cert.allowedUses.includes("server_auth"));
    const files = g.one(T.command, "site-tls");
    assert.ok(isSecretAt(files, "stdin"), "the private key is a secret");
    assert.match(files.inputs.stdin, /fake-site-key/);
    assert.doesNotMatch(files.inputs.create, /fake-site-key|PRIVATE KEY/);
    assert.match(files.inputs.create, /BEGIN CERTIFICATE/);
    assert.ok(g.waitsFor(g.one(T.command, "site-config"), files));
    assert.ok(g.waitsFor(files, g.one(T.container, "box-edge-nginx")));
});

test("own certificate: the key given as a plain string is still a secret; files go under the edge's certs dir", async () => {
    let v: NginxVhost | undefined;
    const g = await evaluate(() => {
        v = site(box(), { tls: { cert: "CERT-PEM", key: "KEY-PEM" } });
    });
    const files = g.one(T.command, "site-tls");
    assert.ok(isSecretAt(files, "stdin"));
    assert.equal(files.inputs.stdin, "KEY-PEM");
    assert.match(files.inputs.create, /cat > '\/srv\/dy\/certs\/site\/privkey\.pem\.new'\nchmod 0600/);
    assert.match(
        files.inputs.delete,
        /rm -f '\/srv\/dy\/certs\/site\/fullchain\.pem' '\/srv\/dy\/certs\/site\/privkey\.pem'/,
    );
    assert.match(v!.config, /ssl_certificate \/etc\/dropyard\/certs\/site\/fullchain\.pem;/);
});

test("several domains, websockets, body size, timeouts and an extra snippet end up in the file", async () => {
    let v: NginxVhost | undefined;
    await evaluate(() => {
        v = site(box(), {
            domains: ["counter.example.com", "www.counter.example.com"],
            clientMaxBodySize: "64m",
            proxyTimeouts: { read: 300 },
            extraConfig: "location /static/ { alias /srv/static/; }",
        });
    });
    const conf = v!.config;
    assert.match(conf, /server_name counter\.example\.com www\.counter\.example\.com;/);
    assert.match(
        conf,
        /proxy_http_version 1\.1;\n\s+proxy_set_header Upgrade \$http_upgrade;\n\s+proxy_set_header Connection \$connection_upgrade;/,
    );
    assert.match(conf, /client_max_body_size 64m;/);
    assert.match(conf, /proxy_read_timeout 300s;/);
    assert.match(conf, /proxy_connect_timeout 10s;/);
    assert.match(conf, /gzip on;/);
    assert.match(conf, /\n    location \/static\/ \{ alias \/srv\/static\/; \}\n\}/);
});

test("a custom template gets its placeholders filled", async () => {
    let v: NginxVhost | undefined;
    const template =
        "server {\n    listen 80;\n    server_name {{server_name}};\n    {{acme_location}}\n    location / { proxy_pass {{upstream}}; }\n}\n";
    await evaluate(() => {
        v = site(box(), { template });
    });
    assert.match(
        v!.config,
        /^server \{\n    listen 80;\n    server_name counter\.example\.com;\n    location \^~ \/\.well-known\/acme-challenge\/ \{\n        root \/var\/www\/acme;/,
    );
    assert.match(v!.config, /proxy_pass http:\/\/counter-web:5000;/);
});

test("a vhost without names answers every name no other vhost claims, on the host's address", async () => {
    let v: NginxVhost | undefined;
    const g = await evaluate(() => {
        v = site(box(), { domains: [] });
        return { url: v.url };
    });
    assert.match(v!.config, /server_name ~\. "";/);
    assert.equal(g.outputs.url, "http://127.0.0.1");
});

test("dns on a droplet: A and AAAA records for each name in the zone", async () => {
    const g = await evaluate(() => {
        const host = new Host("prod", { droplet: { ipv6: true } });
        site(host, { domains: ["example.com", "www.example.com"], tls: "self-signed", dns: { zone: "example.com" } });
    });
    const records = g
        .ofType(T.dns)
        .map(r => [r.inputs.type, r.inputs.name, r.inputs.domain, r.inputs.value, r.inputs.ttl])
        .sort((a, b) => `${a[1]}${a[0]}`.localeCompare(`${b[1]}${b[0]}`));
    assert.deepEqual(records, [
        ["A", "@", "example.com", "203.0.113.10", 300],
        ["AAAA", "@", "example.com", "2001:db8::10", 300],
        ["A", "www", "example.com", "203.0.113.10", 300],
        ["AAAA", "www", "example.com", "2001:db8::10", 300],
    ]);
});

test("no dns, no records", async () => {
    const g = await evaluate(() => {
        site(new Host("prod", { droplet: {} }), {});
    });
    assert.equal(g.ofType(T.dns).length, 0);
});

// --- bad input: one test each ------------------------------------------------------------------

/** `make` throws exactly `message`, and the vhost it was making has no resources. */
function rejects(make: (host: Host) => void, message: string, name = message.split('"')[1]): Promise<void> {
    return rejectsBeforeCreating("NginxVhost", name, () => make(box()), message);
}

test("rejects an invalid domain", () =>
    rejects(
        h => site(h, { domains: ["https://counter.example.com"] }),
        'NginxVhost "site": domains[0] "https://counter.example.com" is not a domain name; use a fully qualified lower-case name such as app.example.com (no scheme, port or path), a *.example.com wildcard or an IPv4 address',
    ));

test("rejects a domain another vhost on the host already serves", () =>
    rejects(h => {
        site(h, {}, "first");
        site(h, { domains: ["www.example.com", "counter.example.com"] }, "second");
    }, 'NginxVhost "second": domains[1] would serve domain "counter.example.com", which NginxVhost "first" already serves; serve each name from one vhost'));

test("the same domain on two hosts is fine", async () => {
    const g = await evaluate(() => {
        site(box());
        site(new Host("other", { local: { dockerHost: "unix:///run/other/docker.sock" } }), {}, "other-site");
    });
    assert.equal(g.ofType(T.command).filter(c => c.name.endsWith("site-config")).length, 2);
});

test("rejects a domain listed twice", () =>
    rejects(
        h => site(h, { domains: ["a.example.com", "a.example.com"] }),
        'NginxVhost "site": domains[1] "a.example.com" is listed twice; list each name once',
    ));

test("rejects tls without domains", () =>
    rejects(
        h => site(h, { domains: [], tls: "self-signed" }),
        'NginxVhost "site": tls is given, but domains is empty; list the names the certificate is for in domains (a vhost without names serves plain HTTP only)',
    ));

test("rejects an upstream port out of range", () =>
    rejects(
        h => site(h, { upstream: { name: "web", port: 70000 } }),
        'NginxVhost "site": upstream.port 70000 is not a TCP port; use a whole number from 1 to 65535',
    ));

test("rejects an upstream App with no web process", () =>
    rejects(
        h =>
            site(h, {
                upstream: {
                    appName: "worker",
                    host: h,
                    hasWeb: false,
                    isPublic: true,
                    webPort: undefined,
                    alias: "worker-web",
                },
            }),
        'NginxVhost "site": upstream App "worker" has no web process; give the App a web process (a "web:" line in its Procfile), or point upstream at { name, port }',
    ));

test("rejects an upstream App that is not public (not on the edge network)", () =>
    rejects(
        h =>
            site(h, {
                upstream: {
                    appName: "userauth",
                    host: h,
                    hasWeb: true,
                    isPublic: false,
                    webPort: 3000,
                    alias: "userauth",
                },
            }),
        'NginxVhost "site": upstream App "userauth" is not public, so the edge cannot reach it; drop public: false from the App, or serve another app',
    ));
test("rejects a custom template missing required placeholders", () =>
    rejects(
        h =>
            site(h, {
                tls: "self-signed",
                template:
                    "server { listen 443 ssl; server_name {{server_name}}; location / { proxy_pass {{upstream}}; } }",
            }),
        "NginxVhost \"site\": template is missing the placeholders {{acme_location}}, {{ssl_certificate}}, {{ssl_certificate_key}}; add them ({{acme_location}}: the `location` that serves ACME challenges; without it on port 80 certificates cannot renew; {{ssl_certificate}}: the certificate chain's path; {{ssl_certificate_key}}: the private key's path)",
    ));

test("rejects a template with an unknown placeholder", () =>
    rejects(
        h => site(h, { template: "{{server_name}} {{upstream}} {{acme_location}} {{servername}}" }),
        'NginxVhost "site": template uses unknown placeholders {{servername}}; use only {{name}}, {{server_name}}, {{upstream}}, {{acme_location}}, {{resolver}}, {{proxy_settings}}, {{extra_config}}, {{redirect_to_https}}, {{ssl_certificate}}, {{ssl_certificate_key}}, {{ssl_settings}}',
    ));

test("rejects dns on a host that is not a droplet", () =>
    rejects(
        h => site(h, { dns: { zone: "example.com" } }),
        'NginxVhost "site": dns is given, but host "box" is a local host and only a droplet\'s records are managed; leave dns out and point the names at the host in your DNS yourself',
    ));

test("rejects a name the Let's Encrypt certificate does not cover", () =>
    rejects(
        h =>
            site(h, {
                domains: ["counter.example.com", "www.counter.example.com"],
                tls: new LetsEncrypt("cert", { host: h, domains: ["counter.example.com"], email: "ops@example.com" }),
            }),
        'NginxVhost "site": domains[1] "www.counter.example.com" is not on the certificate (LetsEncrypt "counter.example.com": counter.example.com); add the name to the LetsEncrypt\'s domains, or remove it here',
    ));

test("rejects dns on the vhost when the certificate is a LetsEncrypt (it needs the records first)", () =>
    rejectsBeforeCreating(
        "NginxVhost",
        "site",
        () => {
            const host = new Host("prod", { droplet: {} });
            const tls = new LetsEncrypt("cert", { host, domains: ["example.com"], email: "ops@example.com" });
            site(host, { domains: ["example.com"], tls, dns: { zone: "example.com" } });
        },
        'NginxVhost "site": dns is given, but LetsEncrypt "example.com" is issued before this vhost exists and needs the records first; move dns to the LetsEncrypt',
    ));

test("rejects a second vhost without names on one host", () =>
    rejects(h => {
        site(h, { domains: [] }, "a");
        site(h, { domains: [] }, "b");
    }, 'NginxVhost "b": domains would serve every name no other vhost claims, which NginxVhost "a" already serves; give this vhost its names'));
