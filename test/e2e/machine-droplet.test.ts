// examples/django-postgres with target=droplet: only DigitalOcean's API is simulated (sandbox/digitalocean.ts). The
// droplet is a new sandbox machine booted with the rendered user data and the SSH key through NoCloud (cloud-init
// installs docker.io for real), the firewall is nftables rules in front of it, the DNS record goes to Pebble's
// resolver; the bootstrap runs over SSH as root, the deploy over Docker's API on 2376 with mutual TLS, and certbot on
// the machine gets the certificate from Pebble. Run it alone:
//   flock /tmp/dropyard-e2e.lock node --import tsx --test --test-concurrency=1 test/e2e/machine-droplet.test.ts
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { down, up, UpSummary } from "../../sandbox";
import { mirrorImages } from "../../sandbox/registry";
import { statePath } from "../../sandbox/state";
import { startPebble, Pebble } from "./support/acme";
import { COUNTER_IMAGES, counterTests, inMachine, tcpOpen } from "./support/machine";
import { EXAMPLES } from "./support/stack";
import { docker } from "../support/docker";

const DIR = join(EXAMPLES, "django-postgres");
const STACK = "machine-droplet";
const ZONE = "droplet.test";
const DOMAIN = `counter.${ZONE}`;
const STATE = statePath("django-postgres", STACK, DIR);

interface Droplet {
    container: string;
    network: string;
    address: string;
    userData: string;
}

/** The droplet as the stack's state holds it: the machine behind it and the outputs the program saw. */
function droplet(): Droplet {
    type Entry = {
        type: string;
        condemned?: boolean;
        rawInputs: { userData?: string };
        outputs: { ipv4Address: string; sandboxMachine: { container: string; network: string } };
    };
    const state = JSON.parse(readFileSync(STATE, "utf8")) as { resources: Entry[] };
    const d = state.resources.find(r => r.type === "digitalocean:index/droplet:Droplet" && !r.condemned);
    assert.ok(d, "the state has a droplet");
    return {
        container: d.outputs.sandboxMachine.container,
        network: d.outputs.sandboxMachine.network,
        address: d.outputs.ipv4Address,
        userData: String(d.rawInputs.userData),
    };
}

describe("django-postgres with target=droplet, DigitalOcean's API simulated", { timeout: 40 * 60_000 }, () => {
    let pebble: Pebble | undefined;
    let summary: UpSummary | undefined;
    let root = "";
    let config: Record<string, string> = {};
    const records: string[] = [];
    const log: string[] = [];
    const figures: Record<string, string> = {};

    before(async () => {
        await mirrorImages(COUNTER_IMAGES);
        pebble = await startPebble();
        config = {
            ...pebble.config,
            target: "droplet",
            domain: DOMAIN,
            dnsZone: ZONE,
            dropletImage: "debian-13-x64",
        };
        await down(DIR, { stack: STACK, purge: true, log: false }).catch(() => undefined);
        const t = Date.now();
        try {
            summary = await up(DIR, {
                stack: STACK,
                config,
                log: line => log.push(line),
                // The sandbox's DNS: each record the simulated API records goes to Pebble's resolver.
                dns: async r => {
                    records.push(`${r.fqdn} ${r.type} ${r.value}`);
                    if (r.type === "A") await pebble!.pointName(r.fqdn, r.value);
                },
            });
        } catch (e) {
            throw new Error(`${(e as Error).message}\n--- sandbox log (last lines) ---\n${log.slice(-30).join("\n")}`);
        }
        figures["cold up (droplet boot with cloud-init, bootstrap, pulls, build, certificate)"] =
            `${((Date.now() - t) / 1000).toFixed(1)}s`;
        root = await pebble.root();
    });

    after(async () => {
        await down(DIR, { stack: STACK, purge: true, log: false }).catch(e =>
            console.log(`down: ${(e as Error).message}`),
        );
        await pebble?.stop();
        if (Object.keys(figures).length) console.log(`machine deploy figures (droplet): ${JSON.stringify(figures)}`);
    });

    test("the droplet is a machine: its address is the droplet's ipv4Address, cloud-init ran the rendered user data", async () => {
        const d = droplet();
        assert.equal(summary!.outputs.ip, d.address);
        const ci = await inMachine(d.container, [
            "bash",
            "-c",
            "cat /var/lib/cloud/seed/nocloud/user-data; echo; cloud-init status --long",
        ]);
        assert.ok(
            ci.stdout.startsWith(d.userData),
            "the user data the machine booted with is the rendered one, verbatim",
        );
        assert.match(ci.stdout, /^status: (done|error)$/m);
        // The key came as meta data, and cloud-init authorized it for root (the bootstrap logged in as root).
        const keys = await inMachine(d.container, ["cat", "/root/.ssh/authorized_keys"]);
        assert.match(keys.stdout, /^ssh-ed25519 /m);
        assert.deepEqual(records, [`${DOMAIN} A ${d.address}`]);
    });

    counterTests(() => ({ ...droplet(), domain: DOMAIN, root, stateFile: STATE }));

    test("the firewall lets in only 22, 80, 443 and 2376: every other port, Postgres's included, gets no answer", async () => {
        const { address } = droplet();
        for (const port of [22, 80, 443, 2376]) assert.equal(await tcpOpen(address, port), true, `port ${port}`);
        for (const port of [2375, 5432, 8000, 5000]) {
            await assert.rejects(tcpOpen(address, port, 2000), /no answer/, `port ${port} is dropped, not refused`);
        }
    });

    test("allowSsh and allowDocker narrowed to the deployer: up still works, another source reaches only 80 and 443", async () => {
        const { address, network } = droplet();
        // Where `up` runs from, as the machine sees it: the gateway of the machine's network.
        const gateway = await docker("network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", network);
        assert.match(gateway, /^\d+\.\d+\.\d+\.\d+$/);
        const narrowed = await up(DIR, {
            stack: STACK,
            config: { ...config, allowSsh: `${gateway}/32`, allowDocker: `${gateway}/32` },
            log: false,
        });
        assert.deepEqual(
            narrowed.resources.filter(r => r.action !== "same").map(r => `${r.action} ${r.name}`),
            ["update counter-host-firewall"],
        );
        for (const port of [22, 2376]) assert.equal(await tcpOpen(address, port), true, `port ${port} from ${gateway}`);
        // Another machine on the same network: a container of the sandbox's Debian root.
        const probe = await docker(
            "run",
            "--rm",
            "--network",
            network,
            "dropyard-sandbox/debian:trixie",
            "bash",
            "-c",
            `for p in 22 2376 80 443; do timeout 3 bash -c "</dev/tcp/${address}/$p" 2>/dev/null && ` +
                'echo "$p open" || echo "$p no answer"; done',
        );
        assert.deepEqual(probe.split("\n"), ["22 no answer", "2376 no answer", "80 open", "443 open"]);
    });
});
