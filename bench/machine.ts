// The droplet path's figures (`BENCH_SECTIONS=machine`): django-postgres with target=droplet, as
// test/e2e/machine-droplet.test.ts deploys it. Only DigitalOcean's API is simulated: the droplet is a new sandbox
// machine (systemd, sshd, cloud-init, no Docker) booted with the rendered user data, cloud-init installs Debian's
// docker.io, the bootstrap runs over real SSH, the images come through the machine's registry mirror, the build and
// the containers go to the machine's daemon over mutual TLS, certbot on the machine gets the certificate from Pebble.
// Then a no-op `up`, a redeploy after a config change (no build) and one after a code change (a build on the machine).
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { down, up, UpSummary } from "../sandbox";
import { mirrorImages } from "../sandbox/registry";
import { Pebble, startPebble } from "../test/e2e/support/acme";
import { COUNTER_IMAGES } from "../test/e2e/support/machine";
import { Figure } from "./results";
import { addGenerationVariable, copyExample } from "./stacks";
import { TimedLine, upParts } from "./up-parts";

const STACK = "bench-droplet";
const ZONE = "droplet.test";

async function timedUp(
    dir: string,
    config: Record<string, string>,
    dns: Pebble,
): Promise<{ s: UpSummary; lines: TimedLine[]; startMs: number; endMs: number }> {
    const lines: TimedLine[] = [];
    const startMs = Date.now();
    try {
        const s = await up(dir, {
            stack: STACK,
            config,
            log: line => lines.push({ atMs: Date.now(), line }),
            // The sandbox's DNS: each A record the simulated API records goes to Pebble's resolver.
            dns: async r => {
                if (r.type === "A") await dns.pointName(r.fqdn, r.value);
            },
        });
        return { s, lines, startMs, endMs: Date.now() };
    } catch (e) {
        const tail = lines.slice(-30).map(l => l.line);
        throw new Error(`${(e as Error).message}\n--- sandbox log (last lines) ---\n${tail.join("\n")}`);
    }
}

const changed = (s: UpSummary) => s.resources.filter(r => r.action !== "same").length;

/** The section: its figures through `put`, its notes through `note`. Leaves nothing deployed. */
export async function benchMachine(
    put: (name: string, value: Figure) => void,
    note: (text: string) => void,
    progress: (line: string) => void,
): Promise<void> {
    const dir = copyExample("django-postgres");
    addGenerationVariable(dir);
    progress("machine: the stand-in images into the sandbox's registry, Pebble");
    await mirrorImages(COUNTER_IMAGES);
    const pebble = await startPebble();
    const config = {
        ...pebble.config,
        target: "droplet",
        domain: `counter.${ZONE}`,
        dnsZone: ZONE,
        dropletImage: "debian-13-x64",
        benchGeneration: "0",
    };
    try {
        await down(dir, { stack: STACK, purge: true, log: false }).catch(() => undefined);
        progress("machine: cold up onto a new droplet");
        const cold = await timedUp(dir, config, pebble);
        put("cold_up_seconds", (cold.endMs - cold.startMs) / 1000);
        for (const [part, s] of Object.entries(upParts(cold.lines, cold.startMs, cold.endMs)))
            put(`cold_up_${part}_seconds`, s);
        put("cold_up_changes", changed(cold.s));

        progress("machine: no-op up");
        const noop = await timedUp(dir, config, pebble);
        put("noop_up_seconds", (noop.endMs - noop.startMs) / 1000);
        put("noop_up_changes", changed(noop.s));

        progress("machine: redeploy after a config change");
        const conf = await timedUp(dir, { ...config, benchGeneration: "1" }, pebble);
        put("config_redeploy_seconds", (conf.endMs - conf.startMs) / 1000);

        progress("machine: redeploy after a code change");
        // A changed view: the build context changes, so the image is built again on the machine (its layers
        // up to the copy of the code come from the daemon's cache) and the release runs.
        appendFileSync(join(dir, "app", "counter", "views.py"), "\n# bench: a code change\n");
        const code = await timedUp(dir, { ...config, benchGeneration: "1" }, pebble);
        put("code_redeploy_seconds", (code.endMs - code.startMs) / 1000);
        const parts = upParts(code.lines, code.startMs, code.endMs);
        put("code_redeploy_build_seconds", parts.images);
        put("code_redeploy_deploy_seconds", parts.deploy);
        note(
            "A droplet is a new sandbox machine (DigitalOcean's API alone simulated): cloud-init installs docker.io " +
                "from Debian's mirror, so the cold up's droplet and bootstrap parts include that download.",
        );
    } finally {
        await down(dir, { stack: STACK, purge: true, log: false }).catch(e =>
            progress(`machine: down: ${(e as Error).message}`),
        );
        await pebble.stop();
    }
}
