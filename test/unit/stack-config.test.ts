// hostFromConfig, domainFromConfig and certificateFromConfig: the one way a stack program (the examples) picks
// its host and certificate from `pulumi config`, and errors that name the config key to set.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { evaluate, Graph, isSecretAt } from "../../sandbox/harness";
import { certificateFromConfig, domainFromConfig, Host, hostFromConfig, LetsEncrypt } from "../../lib";
import { rejectsBeforeCreating } from "../support/helpers";
import { FAKE_SSH_KEY } from "../support/fixtures";
import { LOCAL_COMMAND, REMOTE_COMMAND } from "../support/types";

const HOST = "dropyard:index:Host";
const DROPLET = "digitalocean:index/droplet:Droplet";
const SERVER = { target: "server", serverAddress: "203.0.113.20", serverKey: FAKE_SSH_KEY };

/** Evaluates the examples' three calls with `config`; `cert` is what certificateFromConfig chose. */
async function site(config: Record<string, string>): Promise<{ g: Graph; cert: LetsEncrypt | "self-signed" }> {
    let cert: LetsEncrypt | "self-signed" | undefined;
    const g = await evaluate(
        () => {
            const domain = domainFromConfig("site.localhost");
            const host = hostFromConfig("site-host");
            cert = certificateFromConfig("site-cert", host, domain);
        },
        { config },
    );
    return { g, cert: cert! };
}

/** hostFromConfig("site-host") with `config` throws exactly `message`, creating nothing. */
function refusesHost(config: Record<string, string>, message: string): Promise<void> {
    return rejectsBeforeCreating("Host", "site-host", () => hostFromConfig("site-host"), message, { config });
}

test("no config: a local host, the fallback domain and a self-signed certificate", async () => {
    const { g, cert } = await site({});
    assert.equal(cert, "self-signed");
    assert.equal(g.ofType(HOST).length, 1);
    assert.equal(g.ofType(DROPLET).length + g.ofType(REMOTE_COMMAND).length, 0);
    assert.equal(g.ofType("dropyard:index:LetsEncrypt").length, 0);
});

test("target server: the host is reached at serverAddress as serverUser with serverKey, kept secret", async () => {
    const { g, cert } = await site({
        ...SERVER,
        serverUser: "deploy",
        domain: "site.example.com",
        acmeEmail: "ops@example.com",
    });
    const bootstrap = g.one(REMOTE_COMMAND, "site-host-bootstrap");
    assert.deepEqual(
        [bootstrap.inputs.connection.host, bootstrap.inputs.connection.user, bootstrap.inputs.connection.privateKey],
        ["203.0.113.20", "deploy", FAKE_SSH_KEY],
    );
    assert.ok(isSecretAt(bootstrap, "connection.privateKey"));
    assert.ok(cert instanceof LetsEncrypt, "a server gets a certificate from a CA");
    assert.match(g.one(REMOTE_COMMAND, "site-cert-issue").inputs.create, /site\.example\.com/);
});

test("target droplet: its slugs reach the droplet, allowSsh and allowDocker its firewall; dnsZone makes its record", async () => {
    const { g } = await site({
        target: "droplet",
        region: "fra1",
        size: "s-2vcpu-4gb",
        dropletImage: "debian-13-x64",
        domain: "site.example.com",
        acmeEmail: "ops@example.com",
        dnsZone: "example.com",
        // Both forms: blocks separated by commas, or a JSON list (`pulumi config set --path 'allowDocker[0]' …`).
        allowSsh: "203.0.113.7/32, 198.51.100.0/24",
        allowDocker: '["203.0.113.7/32"]',
    });
    const d = g.one(DROPLET, "site-host-droplet").inputs;
    assert.deepEqual([d.region, d.size, d.image], ["fra1", "s-2vcpu-4gb", "debian-13-x64"]);
    assert.equal(g.ofType("digitalocean:index/dnsRecord:DnsRecord").length, 1);
    const rules = g.one("digitalocean:index/firewall:Firewall", "site-host-firewall").inputs.inboundRules as {
        portRange: string;
        sourceAddresses: string[];
    }[];
    const from = (port: string) => rules.find(r => r.portRange === port)?.sourceAddresses;
    assert.deepEqual(from("22"), ["203.0.113.7/32", "198.51.100.0/24"]);
    assert.deepEqual(from("2376"), ["203.0.113.7/32"]);
    assert.deepEqual(from("443"), ["0.0.0.0/0", "::/0"], "the web stays open to everyone");
});

test("allowSsh or allowDocker that is not a list of CIDR blocks is refused, naming the config key", async () => {
    await refusesHost(
        { target: "droplet", allowDocker: '{"from": "203.0.113.7/32"}' },
        'Config "test": allowDocker is not a list of CIDR blocks; run `pulumi config set allowDocker 203.0.113.7/32` ' +
            "(several: separated by commas)",
    );
    await refusesHost(
        { target: "droplet", allowSsh: "203.0.113.7/32,office" },
        'Config "test": allowSsh "office" is not a CIDR block; write an address and prefix length, e.g. ' +
            "203.0.113.7/32 or 2001:db8::/32 (pulumi config set allowSsh …)",
    );
});

test("a local host with acmeServer asks that CA, trusting acmeCaBundle", async () => {
    const { g, cert } = await site({
        acmeServer: "https://pebble.test:14000/dir",
        acmeEmail: "ops@example.com",
        acmeCaBundle: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n",
    });
    assert.ok(cert instanceof LetsEncrypt);
    const issue = g.one(LOCAL_COMMAND, "site-cert-issue");
    assert.match(issue.inputs.create, /'--server' 'https:\/\/pebble\.test:14000\/dir'/);
    assert.match(JSON.stringify(issue.inputs), /BEGIN CERTIFICATE/);
});

test("an unknown target is refused, naming the config key", async () => {
    await refusesHost(
        { target: "laptop" },
        'Config "test": target "laptop" is not a target; run `pulumi config set target local` (or droplet, or server)',
    );
});

test("a server without serverAddress or serverKey is refused before the host exists, naming the key", async () => {
    await refusesHost(
        { target: "server", serverKey: FAKE_SSH_KEY },
        'Config "test": serverAddress is missing; run `pulumi config set serverAddress 203.0.113.10`',
    );
    await refusesHost(
        { target: "server", serverAddress: "203.0.113.20" },
        'Config "test": serverKey is missing; run `pulumi config set --secret serverKey "$(cat ~/.ssh/id_ed25519)"`',
    );
});

test("a value the Host refuses is reported under its config key, with the Host's reason and fix", async () => {
    await refusesHost(
        { ...SERVER, serverAddress: "root@203.0.113.20" },
        'Config "test": serverAddress "root@203.0.113.20" is not an IP address or DNS name; give an address such as ' +
            "203.0.113.10 or a name such as host.example.com (no user, port or scheme) (pulumi config set serverAddress …)",
    );
    await refusesHost(
        { target: "droplet", region: "Frankfurt" },
        'Config "test": region "Frankfurt" is not a region slug; use a slug such as fra1 or nyc3 ' +
            "(doctl compute region list) (pulumi config set region …)",
    );
});

test("a droplet or server with a *.localhost domain is refused before anything exists, naming domain", async () => {
    const g = await evaluate(
        () =>
            assert.throws(
                () => domainFromConfig("site.localhost"),
                new RegExp(
                    '^ConfigError: Config "test": domain "site.localhost" reaches only this machine, and a server ' +
                        "needs a public name; run `pulumi config set domain site.example.com`$",
                ),
            ),
        { config: SERVER },
    );
    assert.equal(g.resources.length, 0);
    let domain: string | undefined;
    await evaluate(() => (domain = domainFromConfig("site.localhost")), { config: { domain: "x.localhost" } });
    assert.equal(domain, "x.localhost", "a local target takes any name");
});

test("a certificate from a CA needs acmeEmail; a bad acmeServer is reported under its key", async () => {
    const onLocal = (make: (host: Host) => unknown) => () => make(hostFromConfig("site-host"));
    await rejectsBeforeCreating(
        "LetsEncrypt",
        "site-cert",
        onLocal(host => certificateFromConfig("site-cert", host, "site.localhost")),
        'Config "test": acmeEmail is missing; run `pulumi config set acmeEmail ops@example.com`',
        { config: { acmeServer: "https://pebble.test:14000/dir" } },
    );
    await rejectsBeforeCreating(
        "LetsEncrypt",
        "site-cert",
        onLocal(host => certificateFromConfig("site-cert", host, "site.localhost")),
        'Config "test": acmeServer "ftp://pebble.test/dir" is not an https URL; give the CA\'s ACME directory URL, ' +
            "e.g. https://pebble:14000/dir (pulumi config set acmeServer …)",
        { config: { acmeServer: "ftp://pebble.test/dir", acmeEmail: "ops@example.com" } },
    );
});
