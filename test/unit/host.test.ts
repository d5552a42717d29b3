import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { evaluate, Graph, isSecretAt, isSecretValue } from "../../sandbox/harness";
import { ConfigError, Host, HostArgs } from "../../lib";
import { renderCloudInit } from "../../lib/render/cloud-init";
import { LOCAL_COMMAND, NETWORK, REMOTE_COMMAND } from "../support/types";
import { localHost } from "../support/fixtures";

const T = {
    privateKey: "tls:index/privateKey:PrivateKey",
    selfSigned: "tls:index/selfSignedCert:SelfSignedCert",
    csr: "tls:index/certRequest:CertRequest",
    signed: "tls:index/locallySignedCert:LocallySignedCert",
    doKey: "digitalocean:index/sshKey:SshKey",
    droplet: "digitalocean:index/droplet:Droplet",
    firewall: "digitalocean:index/firewall:Firewall",
    remote: REMOTE_COMMAND,
    local: LOCAL_COMMAND,
    provider: "pulumi:providers:docker",
    network: NETWORK,
};
const ANYWHERE = ["0.0.0.0/0", "::/0"];

const droplet = (args: HostArgs["droplet"] = {}) =>
    evaluate(() => {
        const host = new Host("box", { droplet: args });
        return {
            address: host.address,
            dockerHost: host.dockerHost,
            sshCommand: host.sshCommand,
            sshKey: host.sshPrivateKey,
            ipv6: host.ipv6Address,
        };
    });

test("droplet: an ED25519 key registered with DigitalOcean, and a droplet with the documented defaults", async () => {
    const g = await droplet();
    assert.equal(g.one(T.privateKey, "box-ssh-key").inputs.algorithm, "ED25519");
    const doKey = g.one(T.doKey, "box-ssh");
    assert.match(doKey.inputs.publicKey, /^ssh-ed25519 /);
    const d = g.one(T.droplet, "box-droplet").inputs;
    assert.deepEqual(
        {
            name: d.name,
            region: d.region,
            size: d.size,
            image: d.image,
            tags: d.tags,
            monitoring: d.monitoring,
            backups: d.backups,
            ipv6: d.ipv6,
        },
        {
            name: "box",
            region: "nyc3",
            size: "s-1vcpu-1gb",
            image: "ubuntu-24-04-x64",
            tags: ["dropyard"],
            monitoring: true,
            backups: false,
            ipv6: false,
        },
    );
    assert.deepEqual(d.sshKeys, [g.one(T.doKey).outputs.fingerprint]);
    assert.equal(d.userData, renderCloudInit({ swapMiB: 1024 }));
    assert.ok(Buffer.byteLength(d.userData) < 64 * 1024);
    assert.ok(g.waitsFor(g.one(T.droplet), doKey));
});

test("droplet: region, size, image, tags, monitoring, backups, ipv6 and swap are passed through", async () => {
    const g = await droplet({
        region: "fra1",
        size: "s-2vcpu-4gb",
        image: "debian-12-x64",
        tags: ["web", "env:prod"],
        monitoring: false,
        backups: true,
        ipv6: true,
        swapMiB: 0,
    });
    const d = g.one(T.droplet).inputs;
    assert.deepEqual(
        [d.region, d.size, d.image, d.tags, d.monitoring, d.backups, d.ipv6],
        ["fra1", "s-2vcpu-4gb", "debian-12-x64", ["web", "env:prod"], false, true, true],
    );
    assert.equal(d.userData, renderCloudInit({ swapMiB: 0 }));
    assert.equal(g.outputs.ipv6, "2001:db8::10");
    assert.deepEqual(g.one(T.csr, "box-server-csr").inputs.ipAddresses, ["203.0.113.10", "2001:db8::10", "127.0.0.1"]);
});

test("droplet: the firewall opens 22 and 2376 to the allowed CIDRs, 80/443 to everyone, and all egress", async () => {
    const g = await droplet({ allowSsh: ["198.51.100.7/32"], allowDocker: ["198.51.100.0/24", "2001:db8::/32"] });
    const fw = g.one(T.firewall, "box-firewall");
    assert.deepEqual(fw.inputs.inboundRules, [
        { protocol: "tcp", portRange: "22", sourceAddresses: ["198.51.100.7/32"] },
        { protocol: "tcp", portRange: "2376", sourceAddresses: ["198.51.100.0/24", "2001:db8::/32"] },
        { protocol: "tcp", portRange: "80", sourceAddresses: ANYWHERE },
        { protocol: "tcp", portRange: "443", sourceAddresses: ANYWHERE },
    ]);
    assert.deepEqual(fw.inputs.outboundRules, [
        { protocol: "tcp", portRange: "1-65535", destinationAddresses: ANYWHERE },
        { protocol: "udp", portRange: "1-65535", destinationAddresses: ANYWHERE },
        { protocol: "icmp", destinationAddresses: ANYWHERE },
    ]);
    assert.equal(fw.inputs.dropletIds.length, 1);
    assert.ok(g.waitsFor(fw, g.one(T.droplet)), "the firewall is attached to the droplet by id");
});

test("droplet: SSH and Docker are open to any address by default (mutual TLS guards 2376)", async () => {
    const rules = (await droplet()).one(T.firewall).inputs.inboundRules;
    assert.deepEqual(
        rules.slice(0, 2).map((r: any) => r.sourceAddresses),
        [ANYWHERE, ANYWHERE],
    );
});

test("droplet: the CA, a server certificate for the droplet's IP and 127.0.0.1, and a client certificate", async () => {
    const g = await droplet();
    assert.equal(g.one(T.selfSigned, "box-ca").inputs.isCaCertificate, true);
    assert.ok(g.one(T.selfSigned, "box-ca").inputs.allowedUses.includes("cert_signing"));
    const serverCsr = g.one(T.csr, "box-server-csr").inputs;
    assert.deepEqual(serverCsr.ipAddresses, ["203.0.113.10", "127.0.0.1"]);
    assert.ok(g.one(T.signed, "box-server-cert").inputs.allowedUses.includes("server_auth"));
    assert.ok(g.one(T.signed, "box-client-cert").inputs.allowedUses.includes("client_auth"));
    assert.ok(!g.one(T.signed, "box-client-cert").inputs.allowedUses.includes("server_auth"));
    for (const role of ["server", "client"]) {
        assert.equal(
            g.one(T.signed, `box-${role}-cert`).inputs.caCertPem,
            g.one(T.selfSigned, "box-ca").outputs.certPem,
        );
    }
});

test("droplet: the bootstrap runs over SSH as root with the generated key and the script on stdin", async () => {
    const g = await droplet();
    const b = g.one(T.remote, "box-bootstrap").inputs;
    assert.deepEqual(
        { ...b.connection, privateKey: undefined },
        { host: "203.0.113.10", user: "root", port: 22, privateKey: undefined, dialErrorLimit: 20, perDialTimeout: 15 },
    );
    assert.equal(b.connection.privateKey, g.one(T.privateKey, "box-ssh-key").outputs.privateKeyOpenssh);
    assert.equal(b.create, "bash -s");
    assert.match(b.stdin, /cloud-init status --wait/);
    assert.ok(
        b.stdin.includes(g.one(T.privateKey, "box-server-key").outputs.privateKeyPem),
        "the server key travels in the script",
    );
    assert.ok(b.stdin.includes(g.one(T.signed, "box-server-cert").outputs.certPem));
    assert.match(b.stdin, /install -d -m 0755 '\/var\/lib\/dropyard'/);
    // A replaced droplet re-runs the bootstrap even when it gets the same IP back: the trigger is its id.
    // (The harness's mock ids are unknown, so the value itself cannot be compared here.)
    assert.equal(b.triggers.length, 1);
    assert.ok(g.one(T.remote, "box-bootstrap").deps.has(g.one(T.droplet).key));
});

test("droplet: the Docker provider dials tcp://IP:2376 with the client certificate", async () => {
    const g = await droplet();
    const p = g.one(T.provider, "box-docker").inputs;
    assert.equal(p.host, "tcp://203.0.113.10:2376");
    assert.equal(p.caMaterial, g.one(T.selfSigned, "box-ca").outputs.certPem);
    assert.equal(p.certMaterial, g.one(T.signed, "box-client-cert").outputs.certPem);
    assert.equal(p.keyMaterial, g.one(T.privateKey, "box-client-key").outputs.privateKeyPem);
});

test("droplet: the provider waits for the bootstrap, which waits for the droplet and the firewall", async () => {
    const g = await droplet();
    const bootstrap = g.one(T.remote, "box-bootstrap");
    assert.ok(
        g.waitsFor(g.one(T.provider, "box-docker"), bootstrap),
        "provider must not dial before the daemon listens (pulumi-docker#1293)",
    );
    assert.ok(g.waitsFor(bootstrap, g.one(T.droplet)));
    assert.ok(g.waitsFor(bootstrap, g.one(T.firewall)));
    assert.ok(g.waitsFor(g.one(T.network, "box-edge"), bootstrap));
});

test("droplet: keys and the script that carries one are secrets", async () => {
    const g = await droplet();
    const bootstrap = g.one(T.remote, "box-bootstrap");
    assert.ok(isSecretAt(bootstrap, "stdin"));
    assert.ok(isSecretAt(bootstrap, "connection.privateKey"));
    assert.ok(isSecretAt(g.one(T.provider, "box-docker"), "keyMaterial"));
    assert.ok(g.secretOutputs.has("sshKey"), "Host.sshPrivateKey is a secret output");
    assert.equal(g.outputs.sshKey, g.one(T.privateKey, "box-ssh-key").outputs.privateKeyOpenssh);
    assert.ok(!isSecretAt(g.one(T.provider, "box-docker"), "host"), "the address stays readable");
});

test("no private key appears in any input that is not a secret", async () => {
    const g = await droplet();
    const keys = g.ofType(T.privateKey).flatMap(k => [k.outputs.privateKeyPem, k.outputs.privateKeyOpenssh]);
    assert.equal(keys.length, 8, "ssh, ca, server and client keys, PEM and OpenSSH each");
    for (const r of g.resources) {
        const plain = JSON.stringify(withoutSecrets(r.rawInputs));
        assert.doesNotMatch(plain, /PRIVATE KEY/, `${r.key} carries a private key in plain text`);
        for (const k of keys) assert.ok(!plain.includes(k), `${r.key} carries ${k} in plain text`);
    }
});

test("droplet: outputs for stacks: address, docker host, an ssh command and the key to use with it", async () => {
    const g = await droplet();
    assert.equal(g.outputs.address, "203.0.113.10");
    assert.equal(g.outputs.dockerHost, "tcp://203.0.113.10:2376");
    assert.equal(g.outputs.sshCommand, "ssh -i ~/.ssh/dropyard-box root@203.0.113.10");
    assert.equal(g.outputs.ipv6, undefined, "no IPv6 address unless ipv6 is on");
});

const server = (s: Partial<NonNullable<HostArgs["server"]>> = {}) =>
    evaluate(() => {
        const host = new Host("srv", {
            server: {
                address: "203.0.113.20",
                privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nuser-key\n-----END OPENSSH PRIVATE KEY-----\n",
                ...s,
            },
        });
        return { dockerHost: host.dockerHost, sshCommand: host.sshCommand, sshKey: host.sshPrivateKey };
    });

test("server: the same bootstrap and provider over SSH, and no droplet, firewall or DigitalOcean key", async () => {
    const g = await server();
    assert.equal(g.ofType(T.droplet).length + g.ofType(T.firewall).length + g.ofType(T.doKey).length, 0);
    assert.equal(g.ofType(T.privateKey).filter(k => k.name === "srv-ssh-key").length, 0);
    const bootstrap = g.one(T.remote, "srv-bootstrap");
    assert.deepEqual(bootstrap.inputs.connection, {
        host: "203.0.113.20",
        user: "root",
        port: 22,
        privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nuser-key\n-----END OPENSSH PRIVATE KEY-----\n",
        dialErrorLimit: 20,
        perDialTimeout: 15,
    });
    assert.ok(isSecretAt(bootstrap, "connection.privateKey"), "a key given as a plain string is still kept secret");
    assert.ok(isSecretAt(bootstrap, "stdin"));
    assert.match(bootstrap.inputs.stdin, /dockerd/);
    assert.equal(g.outputs.dockerHost, "tcp://203.0.113.20:2376");
    assert.ok(g.waitsFor(g.one(T.provider, "srv-docker"), bootstrap));
    assert.deepEqual(g.one(T.csr, "srv-server-csr").inputs.ipAddresses, ["203.0.113.20", "127.0.0.1"]);
    assert.ok(g.secretOutputs.has("sshKey"));
});

test("server: a non-root user on another port runs the bootstrap with sudo; a DNS name goes into the certificate", async () => {
    const g = await server({ address: "docker.example.com", user: "ubuntu", port: 2222 });
    const b = g.one(T.remote, "srv-bootstrap").inputs;
    assert.equal(b.create, "sudo -n bash -s");
    assert.deepEqual([b.connection.user, b.connection.port], ["ubuntu", 2222]);
    const csr = g.one(T.csr, "srv-server-csr").inputs;
    assert.deepEqual([csr.dnsNames, csr.ipAddresses], [["docker.example.com"], ["127.0.0.1"]]);
    assert.equal(g.outputs.sshCommand, "ssh -p 2222 ubuntu@docker.example.com");
    assert.equal(g.outputs.dockerHost, "tcp://docker.example.com:2376");
});

test("server: an IPv6 address is bracketed in the Docker URL", async () => {
    assert.equal((await server({ address: "2001:db8::20" })).outputs.dockerHost, "tcp://[2001:db8::20]:2376");
});

test("local: the local engine, no SSH, no TLS, no DigitalOcean", async () => {
    const g = await evaluate(() => {
        const host = localHost("dev");
        host.command("dev-hello", { create: "echo hi" });
    });
    assert.equal(g.one(T.provider, "dev-docker").inputs.host, "unix:///var/run/docker.sock");
    assert.equal(g.ofType(T.remote).length + g.ofType(T.privateKey).length + g.ofType(T.droplet).length, 0);
    assert.deepEqual(g.one(T.local, "dev-hello").inputs.interpreter, ["/bin/bash", "-c"]);
});

/** A droplet host with one host command whose environment has a plain and (optionally) a secret value. */
const withCommand = (secret: boolean) =>
    evaluate(() => {
        const host = new Host("box", { droplet: {} });
        const token = secret ? pulumi.secret("s3cr'et") : "s3cr'et";
        host.command("box-write", {
            create: 'echo "$GREETING" >/tmp/x',
            delete: "rm -f /tmp/x",
            environment: { GREETING: "hello world", TOKEN: token },
            stdin: "in",
            triggers: [1],
        });
    });

test("host.command on a droplet: SSH with the host's connection, the environment as export lines, after the bootstrap", async () => {
    const g = await withCommand(false);
    const cmd = g.one(T.remote, "box-write");
    assert.equal(
        cmd.inputs.create,
        `bash -c 'export GREETING='\\''hello world'\\''\nexport TOKEN='\\''s3cr'\\''\\'\\'''\\''et'\\''\necho "$GREETING" >/tmp/x'`,
    );
    assert.match(cmd.inputs.delete, /^bash -c 'export GREETING=.*\nrm -f \/tmp\/x'$/s);
    assert.equal(cmd.inputs.environment, undefined, "sshd would drop SetEnv variables");
    assert.equal(cmd.inputs.update, undefined);
    assert.equal(cmd.inputs.stdin, "in");
    assert.deepEqual(cmd.inputs.triggers, [1]);
    assert.deepEqual(cmd.inputs.connection, g.one(T.remote, "box-bootstrap").inputs.connection);
    assert.ok(g.waitsFor(cmd, g.one(T.remote, "box-bootstrap")));
    assert.ok(!isSecretAt(cmd, "create"), "a plain environment keeps the script readable in diffs");
});

test("host.command on a droplet: a secret environment value makes the scripts secret", async () => {
    const cmd = (await withCommand(true)).one(T.remote, "box-write");
    assert.ok(isSecretAt(cmd, "create"));
    assert.ok(isSecretAt(cmd, "delete"));
});

test("evaluating the same program twice records identical inputs for every resource", async () => {
    const program = () => {
        const d = new Host("box", { droplet: { ipv6: true } });
        d.command("box-cmd", { create: "true", environment: { A: "1" } });
        new Host("srv", {
            server: {
                address: "203.0.113.20",
                privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nk\n-----END OPENSSH PRIVATE KEY-----\n",
            },
        });
    };
    const snapshot = (g: Graph) =>
        g.resources.map(r => [r.key, r.inputs]).sort(([a], [b]) => String(a).localeCompare(String(b)));
    const first = snapshot(await evaluate(program));
    assert.ok(first.length > 20);
    assert.deepEqual(snapshot(await evaluate(program)), first);
});

// --- bad input: one test per case -------------------------------------------------------------

function rejects(args: HostArgs, message: string, field: string) {
    assert.throws(
        () => new Host("box", args),
        (e: unknown) => {
            assert.ok(e instanceof ConfigError, String(e));
            assert.equal(e.message, message);
            assert.deepEqual([e.component, e.resourceName, e.field], ["Host", "box", field]);
            return true;
        },
    );
}

test("a Host with no target is rejected", () => {
    rejects({}, 'Host "box": target is missing; give exactly one of droplet, server or local', "target");
});

test("a Host with two targets is rejected", () => {
    rejects(
        { droplet: {}, local: true },
        'Host "box": target is given more than once (droplet and local); give exactly one of droplet, server or local',
        "target",
    );
});

test("a malformed CIDR in droplet.allowSsh is rejected", () => {
    rejects(
        { droplet: { allowSsh: ["0.0.0.0/0", "10.0.0.300/8"] } },
        'Host "box": droplet.allowSsh[1] "10.0.0.300/8" is not a CIDR block; write an address and prefix length, e.g. 203.0.113.7/32 or 2001:db8::/32',
        "droplet.allowSsh[1]",
    );
});

test("a malformed CIDR in droplet.allowDocker is rejected", () => {
    rejects(
        { droplet: { allowDocker: ["198.51.100.7"] } },
        'Host "box": droplet.allowDocker[0] "198.51.100.7" is not a CIDR block; write an address and prefix length, e.g. 203.0.113.7/32 or 2001:db8::/32',
        "droplet.allowDocker[0]",
    );
});

test("an empty droplet.allowSsh is rejected (the bootstrap needs SSH)", () => {
    rejects(
        { droplet: { allowSsh: [] } },
        'Host "box": droplet.allowSsh is empty; list at least the address `pulumi up` runs from, e.g. 203.0.113.7/32; the bootstrap and the Docker provider need it',
        "droplet.allowSsh",
    );
});

test("a malformed region slug is rejected", () => {
    rejects(
        { droplet: { region: "Frankfurt" } },
        'Host "box": droplet.region "Frankfurt" is not a region slug; use a slug such as fra1 or nyc3 (doctl compute region list)',
        "droplet.region",
    );
});

test("a malformed size slug is rejected", () => {
    rejects(
        { droplet: { size: "1 CPU / 1GB" } },
        'Host "box": droplet.size "1 CPU / 1GB" is not a size slug; use a slug such as s-1vcpu-1gb (doctl compute size list)',
        "droplet.size",
    );
});

test("a tag DigitalOcean would reject is rejected", () => {
    rejects(
        { droplet: { tags: ["ok", "has space"] } },
        'Host "box": droplet.tags[1] "has space" is not a valid DigitalOcean tag; use 1-255 letters, digits, colons, hyphens and underscores',
        "droplet.tags[1]",
    );
});

test("a negative swap size is rejected", () => {
    rejects(
        { droplet: { swapMiB: -1 } },
        'Host "box": droplet.swapMiB -1 is not a whole number of MiB; use 0 (no swap) or a positive whole number such as 1024',
        "droplet.swapMiB",
    );
});

test("an empty server address is rejected", () => {
    rejects(
        { server: { address: " ", privateKey: "k" } },
        'Host "box": server.address is empty; give the machine\'s IP address or DNS name',
        "server.address",
    );
});

test("a server address that is neither an IP nor a DNS name is rejected", () => {
    rejects(
        { server: { address: "root@203.0.113.20:22", privateKey: "k" } },
        'Host "box": server.address "root@203.0.113.20:22" is not an IP address or DNS name; give an address such as 203.0.113.10 or a name such as host.example.com (no user, port or scheme)',
        "server.address",
    );
});

test("an SSH port out of range is rejected", () => {
    rejects(
        { server: { address: "203.0.113.20", port: 70000, privateKey: "k" } },
        'Host "box": server.port 70000 is not a TCP port; use a whole number from 1 to 65535',
        "server.port",
    );
});

test("an invalid SSH user is rejected", () => {
    rejects(
        { server: { address: "203.0.113.20", user: "root; rm -rf /", privateKey: "k" } },
        'Host "box": server.user "root; rm -rf /" is not a valid user name; use a login name such as root or ubuntu',
        "server.user",
    );
});

/** rawInputs with every secret value removed, for scanning what would be stored in plain text. */
function withoutSecrets(v: unknown): unknown {
    if (isSecretValue(v)) return "[secret]";
    if (Array.isArray(v)) return v.map(withoutSecrets);
    if (v && typeof v === "object")
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withoutSecrets(x)]));
    return v;
}
