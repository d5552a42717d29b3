// The simulated DigitalOcean API without machines: fingerprints as DigitalOcean (and ssh-keygen -E md5) print
// them, what a change replaces, the seed a droplet boots with, the firewall's nftables rules, and what the
// simulation refuses. (Droplets as real machines behind real rules: test/e2e/machine-droplet.test.ts.)
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import {
    checkDigitalocean,
    digitaloceanInPlace,
    digitaloceanOutputs,
    DROPLET,
    fingerprint,
    FIREWALL,
    renderFirewall,
    SSH_KEY,
} from "../../sandbox/digitalocean";
import type { RecordedResource } from "../../sandbox/harness";
import { PENDING_OUTPUT } from "../../sandbox/lib/pending";
import { dropletSeed } from "../../sandbox/machine";
import { sshKey } from "../e2e/support/machine";

describe("the simulated DigitalOcean API", () => {
    test("an SshKey's fingerprint is the MD5 of the key, as ssh-keygen -E md5 prints it", () => {
        const key = sshKey();
        const dir = mkdtempSync(join(tmpdir(), "do-fp-"));
        try {
            writeFileSync(join(dir, "k.pub"), `${key.publicKey}\n`);
            const printed = execFileSync("ssh-keygen", ["-l", "-E", "md5", "-f", join(dir, "k.pub")], {
                encoding: "utf8",
            });
            assert.equal(`MD5:${fingerprint(SSH_KEY, "k", key.publicKey)}`, printed.split(" ")[1]);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
        assert.throws(() => fingerprint(SSH_KEY, "k", "not a key"), /publicKey is not an OpenSSH public key line/);
    });

    test("a new droplet has an id at once and its address only once its machine exists; a kept one keeps both", () => {
        const made = digitaloceanOutputs(DROPLET, "d", {}, undefined);
        assert.match(made.id, /^\d{9}$/);
        assert.equal(made.ipv4Address, PENDING_OUTPUT);
        const kept = { id: "123456789", ipv4Address: "10.0.0.2" };
        assert.equal(digitaloceanOutputs(DROPLET, "d", {}, kept), kept);
    });

    test("image, region, user data and keys replace a droplet; size and tags do not; a firewall updates in place", () => {
        for (const f of ["image", "region", "userData", "sshKeys"])
            assert.equal(digitaloceanInPlace(DROPLET, [f]), false, f);
        assert.equal(digitaloceanInPlace(DROPLET, ["size", "tags", "monitoring"]), true);
        assert.equal(digitaloceanInPlace(FIREWALL, ["inboundRules", "dropletIds"]), true);
    });

    test("only debian-13-x64 without IPv6 is offered, and the error says how to ask for it", () => {
        const droplet = (inputs: Record<string, unknown>) =>
            ({ type: DROPLET, name: "box", inputs }) as unknown as RecordedResource;
        assert.throws(() => checkDigitalocean(droplet({ image: "ubuntu-24-04-x64" })), {
            message:
                'digitalocean:index/droplet:Droplet "box": image "ubuntu-24-04-x64" is not offered by the sandbox\'s ' +
                'simulated API; its droplets are Debian 13 machines: use image "debian-13-x64" (the examples: config dropletImage)',
        });
        assert.throws(
            () => checkDigitalocean(droplet({ image: "debian-13-x64", ipv6: true })),
            /ipv6 is true but sandbox machines have no IPv6/,
        );
        checkDigitalocean(droplet({ image: "debian-13-x64", ipv6: false }));
    });

    test("a droplet's seed: the user data verbatim, the keys as meta data, as DigitalOcean's metadata hands them", () => {
        const seed = dropletSeed(
            "droplet-1",
            "ssh-ed25519 AAAA one\nssh-ed25519 BBBB two",
            "#cloud-config\npackages: [x]\n",
        );
        assert.equal(seed.userData, "#cloud-config\npackages: [x]\n");
        assert.deepEqual(parse(seed.metaData), {
            "instance-id": "dropyard-machine-droplet-1",
            "local-hostname": "droplet-1",
            "public-keys": ["ssh-ed25519 AAAA one", "ssh-ed25519 BBBB two"],
        });
    });

    test("the firewall: inbound only what is listed, outbound only what is listed, replies pass, eth0 only", () => {
        const rules = renderFirewall(
            [
                { protocol: "tcp", portRange: "22", sourceAddresses: ["10.0.0.0/8", "::/0"] },
                { protocol: "tcp", portRange: "80", sourceAddresses: ["0.0.0.0/0"] },
            ],
            [{ protocol: "icmp", destinationAddresses: ["0.0.0.0/0"] }],
        );
        assert.equal(
            rules,
            [
                "table inet dropyard_cloud_firewall",
                "delete table inet dropyard_cloud_firewall",
                "table inet dropyard_cloud_firewall {",
                "    chain prerouting {",
                "        type filter hook prerouting priority -150; policy accept;",
                '        iifname != "eth0" accept',
                "        ct state established,related accept",
                "        ip saddr { 10.0.0.0/8 } meta l4proto tcp th dport 22 accept",
                "        ip6 saddr { ::/0 } meta l4proto tcp th dport 22 accept",
                "        ip saddr { 0.0.0.0/0 } meta l4proto tcp th dport 80 accept",
                "        drop",
                "    }",
                "    chain postrouting {",
                "        type filter hook postrouting priority 50; policy accept;",
                '        oifname != "eth0" accept',
                "        ct state established,related accept",
                "        ip daddr { 0.0.0.0/0 } meta l4proto { icmp, ipv6-icmp } accept",
                "        drop",
                "    }",
                "}",
                "",
            ].join("\n"),
        );
        // No outbound rule at all: nothing leaves but replies, as on DigitalOcean.
        assert.match(renderFirewall([], []), /chain postrouting \{\n.*\n.*\n.*established,related accept\n\s+drop\n/);
    });
});
