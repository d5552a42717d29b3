import { test } from "node:test";
import * as assert from "node:assert/strict";
import { evaluate, Graph } from "../../sandbox/harness";
import { rejectsBeforeCreating } from "../support/helpers";
import { Host, LetsEncrypt, LetsEncryptArgs } from "../../lib";
import { CONTAINER, LOCAL_COMMAND, REMOTE_COMMAND, REMOTE_IMAGE } from "../support/types";
import { localHost } from "../support/fixtures";

const T = {
    local: LOCAL_COMMAND,
    remote: REMOTE_COMMAND,
    image: REMOTE_IMAGE,
    container: CONTAINER,
    dns: "digitalocean:index/dnsRecord:DnsRecord",
};
const box = () => localHost("box", { dataDir: "/srv/dy" });
const base: Omit<LetsEncryptArgs, "host"> = {
    domains: ["counter.example.com", "www.counter.example.com"],
    email: "ops@example.com",
};

async function cert(
    args: Partial<LetsEncryptArgs> = {},
    host: () => Host = box,
): Promise<{ g: Graph; c: LetsEncrypt }> {
    let c: LetsEncrypt | undefined;
    const g = await evaluate(() => {
        c = new LetsEncrypt("cert", { host: host(), ...base, ...args });
    });
    return { g, c: c! };
}

test("LetsEncrypt issues with the official certbot image through the edge's webroot, after the edge is up", async () => {
    const { g } = await cert();
    assert.equal(g.one(T.image, "cert-certbot-image").inputs.name, "certbot/certbot:v4.0.0");
    assert.equal(g.one(T.image, "cert-certbot-image").inputs.keepLocally, true);
    const issue = g.one(T.local, "cert-issue");
    assert.equal(issue.parent, "dropyard:index:LetsEncrypt::cert");
    const script: string = issue.inputs.create;
    assert.match(
        script,
        /docker run --rm --user "\$\(id -u\):\$\(id -g\)" -v '\/srv\/dy\/letsencrypt:\/etc\/letsencrypt' -v '\/srv\/dy\/acme:\/var\/www\/acme' /,
    );
    assert.match(
        script,
        /run_certbot 'certonly' '--webroot' '-w' '\/var\/www\/acme' '--cert-name' 'counter\.example\.com' '-d' 'counter\.example\.com' '-d' 'www\.counter\.example\.com' '--non-interactive' '--agree-tos' '--keep-until-expiring' '--expand' '--email' 'ops@example\.com' '--no-eff-email'\n/,
    );
    assert.doesNotMatch(script, /--server|--staging/);
    assert.ok(g.waitsFor(issue, g.one(T.container, "box-edge-nginx")));
    assert.ok(g.waitsFor(issue, g.one(T.local, "box-edge-setup")));
    assert.ok(!g.waitsFor(g.one(T.container, "box-edge-nginx"), issue));
    // Afterwards the edge is tested and reloaded, so a changed certificate is served.
    assert.match(
        script,
        /edge='box-nginx'\n[\s\S]*\nreload_edge\(\) \{[\s\S]*nginx -t[\s\S]*nginx -s reload[\s\S]*\}\ncode=0; reload_edge \|\| code=\$\?\ncase "\$code" in\n[\s\S]*\n {4}2\) printf [^\n]*exit 1 ;;\n[\s\S]*\nesac\n$/,
    );
});

test("outputs the certificate and key paths as nginx in the edge sees them", async () => {
    const { c } = await cert();
    assert.equal(c.certificatePath, "/etc/letsencrypt/live/counter.example.com/fullchain.pem");
    assert.equal(c.keyPath, "/etc/letsencrypt/live/counter.example.com/privkey.pem");
    assert.equal(c.renewScript, "/srv/dy/certbot/counter.example.com/renew.sh");
});

test("a re-run with nothing changed contacts no one: same inputs, no triggers, so Pulumi runs nothing", async () => {
    const first = (await cert()).g.one(T.local, "cert-issue");
    const second = (await cert()).g.one(T.local, "cert-issue");
    assert.deepEqual(second.inputs, first.inputs);
    assert.equal(first.inputs.triggers, undefined);
    assert.equal(first.inputs.update, undefined);
    // Changing a name changes the script, which re-runs it (and --expand adds the name).
    const more = (await cert({ domains: [...base.domains, "api.counter.example.com"] })).g.one(T.local, "cert-issue");
    assert.notEqual(more.inputs.create, first.inputs.create);
});

test("staging: --staging, and no email needed", async () => {
    const script: string = (await cert({ staging: true, email: undefined })).g.one(T.local, "cert-issue").inputs.create;
    assert.match(script, /'--register-unsafely-without-email' '--staging'/);
});

test("a test CA: --server, extra networks and a CA bundle certbot trusts for the ACME server", async () => {
    const ca = "-----BEGIN CERTIFICATE-----\nminica\n-----END CERTIFICATE-----\n";
    const { g } = await cert({
        email: undefined,
        server: "https://pebble:14000/dir",
        networks: ["pebble-net"],
        serverCaBundle: ca,
    });
    const script: string = g.one(T.local, "cert-issue").inputs.create;
    assert.match(script, /'--server' 'https:\/\/pebble:14000\/dir'/);
    assert.match(
        script,
        /cid=\$\(docker create .* -e 'REQUESTS_CA_BUNDLE=\/dropyard\/ca\.pem' 'certbot\/certbot:v4\.0\.0' "\$@"/,
    );
    assert.match(script, /docker network connect 'pebble-net' "\$cid"/);
    assert.ok(
        script.includes(`cat > '/srv/dy/certbot/counter.example.com/ca.pem' <<'DROPYARD_EOF'\n${ca}DROPYARD_EOF`),
    );
    // Renewal talks to the same CA the same way.
    const renewal: string = g.one(T.local, "cert-renewal").inputs.create;
    assert.match(renewal, /docker network connect 'pebble-net' "\$cid"/);
    assert.match(renewal, /REQUESTS_CA_BUNDLE/);
});

test("renewal on a local host: the script is written, but no cron entry unless asked", async () => {
    const { g, c } = await cert();
    const renewal = g.one(T.local, "cert-renewal");
    assert.ok(g.waitsFor(renewal, g.one(T.local, "cert-issue")));
    assert.match(renewal.inputs.create, /cat > '\/srv\/dy\/certbot\/counter\.example\.com\/renew\.sh\.new'/);
    assert.doesNotMatch(renewal.inputs.create, /cron\.d/);
    assert.equal(c.cronFile, undefined);
});

test("renewal with autoRenew: certbot renew twice a day with a random delay, deploy hook, reload only when renewed", async () => {
    const { g, c } = await cert({ autoRenew: true });
    const renewal = g.one(T.local, "cert-renewal");
    const script: string = renewal.inputs.create;
    assert.equal(c.cronFile, "/etc/cron.d/dropyard-box-counter-example-com");
    assert.match(
        script,
        /printf '%s %s %s\\n' '\d+ \d+,\d+ \* \* \*' "\$user" '\/bin\/bash '\\''\/srv\/dy\/certbot\/counter\.example\.com\/renew\.sh'\\'' 2>&1 \| logger -t dropyard-renew'/,
    );
    assert.match(
        script,
        /as_root install -m 0644 -o root -g root "\$tmp" '\/etc\/cron\.d\/dropyard-box-counter-example-com'/,
    );
    assert.match(script, /sleep \$\(\(RANDOM % 3600\)\)/);
    assert.match(
        script,
        /run_certbot renew --cert-name 'counter\.example\.com' --non-interactive --no-random-sleep-on-renew --deploy-hook 'touch \/dropyard\/renewed' "\$@"/,
    );
    assert.match(
        script,
        /if \[ -e "\$marker" \]; then\n    rm -f "\$marker"\n[\s\S]*    edge='box-nginx'\n[\s\S]*    reload_edge\(\) \{[\s\S]*nginx -t[\s\S]*    code=0; reload_edge \|\| code=\$\?\n/,
    );
    // Removing the component removes the job (the certificate stays).
    assert.match(
        renewal.inputs.delete,
        /as_root rm -f '\/etc\/cron\.d\/dropyard-box-counter-example-com'\nrm -f '\/srv\/dy\/certbot\/counter\.example\.com\/renew\.sh'/,
    );
    assert.doesNotMatch(renewal.inputs.delete, /letsencrypt/);
});

test("on a droplet: renewal is installed by default, and the commands run over SSH after the bootstrap", async () => {
    const { g, c } = await cert({}, () => new Host("prod", { droplet: {} }));
    assert.equal(c.cronFile, "/etc/cron.d/dropyard-prod-counter-example-com");
    const renewal = g.one(T.remote, "cert-renewal");
    assert.match(renewal.inputs.create, /\/etc\/cron\.d\/dropyard-prod-counter-example-com/);
    assert.ok(g.waitsFor(g.one(T.remote, "cert-issue"), g.one(T.remote, "prod-bootstrap")));
    assert.ok(g.waitsFor(g.one(T.remote, "cert-issue"), g.one(T.container, "prod-edge-nginx")));
});

test("dns on a droplet: records first, then the certificate", async () => {
    const { g } = await cert(
        { dns: { zone: "example.com", ttl: 60 } },
        () => new Host("prod", { droplet: { ipv6: true } }),
    );
    const records = g.ofType(T.dns);
    assert.deepEqual(records.map(r => `${r.inputs.type} ${r.inputs.name} ${r.inputs.ttl}`).sort(), [
        "A counter 60",
        "A www.counter 60",
        "AAAA counter 60",
        "AAAA www.counter 60",
    ]);
    for (const r of records) assert.ok(g.waitsFor(g.one(T.remote, "cert-issue"), r));
});

// --- bad input: one test each ------------------------------------------------------------------

/** LetsEncrypt "cert" with `args` throws exactly `message` (after `before` ran), creating nothing. */
function rejects(args: Partial<LetsEncryptArgs>, message: string, before?: (host: Host) => void): Promise<void> {
    return rejectsBeforeCreating(
        "LetsEncrypt",
        "cert",
        () => {
            const host = box();
            before?.(host);
            return new LetsEncrypt("cert", { host, ...base, ...args });
        },
        message,
    );
}

test("rejects a wildcard domain (HTTP-01 cannot issue it)", () =>
    rejects(
        { domains: ["*.example.com"] },
        'LetsEncrypt "cert": domains[0] "*.example.com" is a wildcard, which Let\'s Encrypt issues only through the DNS-01 challenge and dropyard uses HTTP-01; list each name the certificate must cover instead',
    ));

test("rejects a missing email for production", () =>
    rejects(
        { email: undefined },
        'LetsEncrypt "cert": email is missing; Let\'s Encrypt production needs an address for expiry and account notices; give email (or staging: true while testing)',
    ));

test("rejects an invalid domain", () =>
    rejects(
        { domains: ["counter.example.com:443"] },
        'LetsEncrypt "cert": domains[0] "counter.example.com:443" is not a domain name; use a fully qualified lower-case name such as app.example.com (no scheme, port or path)',
    ));

test("rejects no domains", () =>
    rejects({ domains: [] }, 'LetsEncrypt "cert": domains is empty; give at least one name, e.g. ["app.example.com"]'));

test("rejects staging together with a server", () =>
    rejects(
        { staging: true, server: "https://pebble:14000/dir" },
        "LetsEncrypt \"cert\": staging and server are both given; give staging: true for Let's Encrypt's staging CA, or server for another CA, not both",
    ));

test("rejects a server that is not an https URL", () =>
    rejects(
        { server: "http://pebble:14000/dir" },
        'LetsEncrypt "cert": server "http://pebble:14000/dir" is not an https URL; give the CA\'s ACME directory URL, e.g. https://pebble:14000/dir',
    ));

test("rejects a certbot image that is not an image reference", () =>
    rejects(
        { image: "certbot image" },
        'LetsEncrypt "cert": image "certbot image" is not an image reference; use a name such as certbot/certbot:v4.0.0',
    ));

test("rejects a second certificate with the same first name on a host", () =>
    rejects(
        {},
        'LetsEncrypt "cert": domains[0] would create certificate lineage "counter.example.com", which LetsEncrypt "first" already uses; put all the names on one certificate, or start this one with a different name',
        host => {
            new LetsEncrypt("first", { host, domains: ["counter.example.com"], email: "ops@example.com" });
        },
    ));

test("rejects dns on a host that is not a droplet", () =>
    rejects(
        { dns: { zone: "example.com" } },
        'LetsEncrypt "cert": dns is given, but host "box" is a local host and only a droplet\'s records are managed; leave dns out and point the names at the host in your DNS yourself',
    ));
