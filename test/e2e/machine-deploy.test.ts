// examples/django-postgres with target=server, deployed by the sandbox onto a sandbox machine (a fresh Debian trixie
// with sshd, cloud-init and no Docker) as a `deploy` user with passwordless sudo: the bootstrap and every host command
// go over real SSH (ssh2), the Docker resources to the machine's daemon on ADDRESS:2376 with the Host's client
// certificate, images come through the machine's registry mirror, and certbot on the machine gets the certificate
// from Pebble. The same machine then serves the failure cases. Needs dropyard-sandbox/machine:trixie and
// dropyard-sandbox/registry:2.8. Run it alone:
//   flock /tmp/dropyard-e2e.lock node --import tsx --test --test-concurrency=1 test/e2e/machine-deploy.test.ts
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { down, up, UpSummary } from "../../sandbox";
import { Machine, startMachine } from "../../sandbox/machine";
import { mirrorImages } from "../../sandbox/registry";
import { statePath } from "../../sandbox/state";
import { startPebble, Pebble } from "./support/acme";
import { fetchVia } from "../../sandbox/lib/http";
import { COUNTER_IMAGES, counterSql, counterTests, sshKey, SshKey } from "./support/machine";
import { until } from "../support/until";
import { changes, EXAMPLES } from "./support/stack";
import { dropyardWithState, exportState } from "./support/dropyard";
import { tempDir } from "../support/fixtures";
import { docker } from "../support/docker";

const DIR = join(EXAMPLES, "django-postgres");
const STACK = "machine-server";
const DOMAIN = "counter.server.test";
const BAD_KEY = "machine-server-bad-key";
const NO_SUDO = "machine-server-no-sudo";
const NOBODY = "machine-server-unreachable";
/** What Host gives remote.Command: 20 dials of at most 15 s each (and the backoff between them). */
const CONNECTION_TIMEOUT_S = 20 * 15;
/** Longer than any failing up here takes (the refused key: 90 s). */
const STUCK_MS = 6 * 60_000;

describe("django-postgres with target=server on a sandbox machine, as a deploy user", { timeout: 40 * 60_000 }, () => {
    let machine: Machine | undefined;
    let pebble: Pebble | undefined;
    let key: SshKey;
    let config: Record<string, string> = {};
    let root = "";
    const log: { at: number; line: string }[] = [];
    const figures: Record<string, string> = {};
    const m = () => {
        if (!machine) throw new Error("the machine did not start");
        return machine;
    };
    const seconds = (t: number) => `${((Date.now() - t) / 1000).toFixed(1)}s`;

    const deploy = async (): Promise<UpSummary> => {
        try {
            return await up(DIR, { stack: STACK, config, log: line => log.push({ at: Date.now(), line }) });
        } catch (e) {
            throw new Error(
                `${(e as Error).message}\n--- sandbox log (last lines) ---\n${log
                    .slice(-30)
                    .map(l => l.line)
                    .join("\n")}`,
            );
        }
    };
    const dockerd = async () =>
        (
            await m().exec([
                "systemctl",
                "show",
                "-p",
                "MainPID",
                "-p",
                "ExecMainStartTimestampMonotonic",
                "docker.service",
            ])
        ).stdout.trim();

    before(async () => {
        key = sshKey();
        let t = Date.now();
        machine = await startMachine({
            name: `server-${randomBytes(3).toString("hex")}`,
            authorizedKey: key.publicKey,
        });
        figures["machine boot"] = seconds(t);
        t = Date.now();
        await mirrorImages(COUNTER_IMAGES);
        figures["push the stand-in images to the registry"] = seconds(t);
        pebble = await startPebble();
        await pebble.pointName(DOMAIN, m().address);
        config = {
            ...pebble.config,
            target: "server",
            domain: DOMAIN,
            serverAddress: m().address,
            serverUser: "deploy",
            serverKey: key.privateKey,
        };
        for (const stack of [STACK, BAD_KEY, NO_SUDO, NOBODY]) {
            await down(DIR, { stack, purge: true, log: false }).catch(() => undefined); // an interrupted run's state
        }
        root = await pebble.root();
    });

    after(async () => {
        for (const stack of machine ? [STACK, BAD_KEY, NO_SUDO, NOBODY] : []) {
            await down(DIR, { stack, purge: true, log: false }).catch(e =>
                console.log(`down ${stack}: ${(e as Error).message}`),
            );
        }
        await pebble?.stop();
        await machine?.stop();
        if (Object.keys(figures).length) console.log(`machine deploy figures (server): ${JSON.stringify(figures)}`);
    });

    /**
     * An up that must fail: its message, and how long it took. One that has not ended after STUCK_MS fails the test
     * with the sandbox's last log lines, so a hang says where it is.
     */
    const failing = async (stack: string, extra: Record<string, string>) => {
        const t = Date.now();
        const lines: string[] = [];
        let timer: NodeJS.Timeout | undefined;
        const stuck = new Promise<never>((_, reject) => {
            timer = setTimeout(
                () =>
                    reject(
                        new Error(`the up of ${stack} is stuck; its last log lines:\n${lines.slice(-20).join("\n")}`),
                    ),
                STUCK_MS,
            );
        });
        const run = up(DIR, { stack, config: { ...config, ...extra }, log: line => lines.push(line) });
        const e = await Promise.race([run, stuck])
            .then(
                () => undefined,
                (x: Error) => x,
            )
            .finally(() => clearTimeout(timer));
        assert.ok(e, `the up of ${stack} succeeded`);
        assert.doesNotMatch(e.message, /is stuck; its last log lines/);
        return { message: e.message, seconds: (Date.now() - t) / 1000 };
    };

    test("a key the machine refuses fails within the connection timeout, naming user, address and the refusal", async () => {
        const r = await failing(BAD_KEY, { serverKey: sshKey().privateKey });
        figures["refused key: up fails after"] = `${r.seconds.toFixed(1)}s`;
        assert.ok(r.seconds < CONNECTION_TIMEOUT_S, `took ${r.seconds}s`);
        const said =
            `command:remote:Command "counter-host-bootstrap": connection failed: ssh deploy@${m().address}:22: ` +
            "the server refused the key (authentication failed) (gave up after 20 dials";
        assert.ok(r.message.includes(said), r.message);
    });

    test("an address where no machine answers fails within the connection timeout, naming user, address and why", async () => {
        // An address on the machine's own network that no container holds: the dials stay on the sandbox's bridge.
        const taken = (
            await docker("network", "inspect", "-f", "{{range .Containers}}{{.IPv4Address}} {{end}}", m().network)
        )
            .split(" ")
            .map(a => a.split("/")[0]);
        const nobody = m().address.replace(/\.\d+$/, ".250");
        assert.ok(!taken.includes(nobody), `${nobody} is taken`);
        const r = await failing(NOBODY, { serverAddress: nobody });
        figures["unreachable address: up fails after"] = `${r.seconds.toFixed(1)}s`;
        assert.ok(r.seconds < CONNECTION_TIMEOUT_S, `took ${r.seconds}s`);
        assert.match(
            r.message,
            new RegExp(
                `"counter-host-bootstrap": connection failed: ssh deploy@${nobody.replace(/\./g, "\\.")}:22: ` +
                    "(the address is unreachable \\(EHOSTUNREACH\\)|no answer within the dial timeout) \\(gave up after 20 dials",
            ),
        );
    });

    test("a user without passwordless sudo fails at once, naming user, address and sudo's refusal", async () => {
        const add = await m().exec([
            "bash",
            "-c",
            "useradd -m -s /bin/bash nosudo && install -d -m 700 -o nosudo ~nosudo/.ssh && " +
                `echo '${key.publicKey}' >~nosudo/.ssh/authorized_keys && chown nosudo ~nosudo/.ssh/authorized_keys`,
        ]);
        assert.equal(add.code, 0, add.stderr);
        const r = await failing(NO_SUDO, { serverUser: "nosudo" });
        assert.ok(r.seconds < 60, `took ${r.seconds}s`);
        const said = `"counter-host-bootstrap": create script failed (exit 1) over ssh nosudo@${m().address}:22;`;
        assert.ok(r.message.includes(said), r.message);
        assert.match(r.message, /sudo: a password is required/);
    });

    test("a bootstrap that fails (apt cannot reach its mirror) fails up with the script's own output", async () => {
        const proxy = 'Acquire::http::Proxy "http://127.0.0.1:9/"; Acquire::https::Proxy "http://127.0.0.1:9/";';
        assert.equal((await m().exec(["bash", "-c", `echo '${proxy}' >/etc/apt/apt.conf.d/99-unreachable`])).code, 0);
        const r = await failing(STACK, {});
        assert.match(r.message, /"counter-host-bootstrap": create script failed \(exit \d+\) over ssh deploy@/);
        assert.match(r.message, /dropyard-bootstrap: waiting for cloud-init/);
        assert.match(r.message, /127\.0\.0\.1:9|Unable to locate package docker\.io/);
    });

    test("once the cause is fixed, the next up completes (the cold up of a fresh machine)", async () => {
        assert.equal((await m().exec(["rm", "/etc/apt/apt.conf.d/99-unreachable"])).code, 0);
        const t = Date.now();
        await deploy();
        figures["cold up onto the fresh machine (bootstrap, pulls, build, certificate)"] = seconds(t);
        const started = log.findIndex(l => /run create of counter-host-bootstrap/.test(l.line));
        if (started >= 0 && log[started + 1]) {
            figures["of which the bootstrap"] = `${((log[started + 1].at - log[started].at) / 1000).toFixed(1)}s`;
        }
    });

    counterTests(() => ({
        container: m().container,
        address: m().address,
        domain: DOMAIN,
        root,
        stateFile: statePath("django-postgres", STACK, DIR),
    }));

    test("the machine listens publicly only on 22, 80, 443 and 2376; Postgres only inside", async () => {
        const r = await m().exec(["ss", "-Hltn"]);
        const ports = new Set(
            r.stdout
                .trim()
                .split("\n")
                .map(l => l.trim().split(/\s+/)[3])
                .filter(a => !/^(127\.|\[::1\]|\[::ffff:127\.)/.test(a))
                .map(a => Number(a.split(":").pop())),
        );
        assert.deepEqual(
            [...ports].sort((a, b) => a - b),
            [22, 80, 443, 2376],
            r.stdout,
        );
        const pg = await m().exec(["docker", "inspect", "-f", "{{json .NetworkSettings.Ports}}", "counter-db"]);
        assert.doesNotMatch(pg.stdout, /HostPort/, "Postgres publishes no port");
    });

    test("renewal on the machine: cron runs the script; it renews through Pebble and the edge serves the new certificate", async () => {
        const cron = await m().exec(["bash", "-c", "grep -l renew.sh /etc/cron.d/*"]);
        assert.equal(cron.code, 0, `no cron entry runs renew.sh: ${cron.stderr}`);
        const serial = async () =>
            (await fetchVia({ host: DOMAIN, address: m().address, ca: root })).certificate!.serialNumber;
        const before = await serial();
        const t = Date.now();
        const script = `/var/lib/dropyard/certbot/${DOMAIN}/renew.sh`;
        const r = await m().exec(["env", "DROPYARD_RENEW_NOW=1", script, "--force-renewal"], 240_000);
        figures["forced renewal on the machine"] = seconds(t);
        assert.equal(r.code, 0, r.stderr + r.stdout);
        assert.match(r.stdout, /renewed counter\.server\.test; nginx in \S+ reloaded/);
        assert.notEqual(await serial(), before, "the edge serves the renewed certificate");
    });

    test("dropyard ps and run reach the machine's daemon over mutual TLS, with the material from the state", async () => {
        const stateFile = join(tempDir("dropyard-machine-cli-"), "state.json");
        exportState(DIR, STACK, stateFile);
        const ps = dropyardWithState(DIR, stateFile, "ps", "--json");
        assert.equal(ps.status, 0, ps.stderr);
        const app = JSON.parse(ps.stdout).apps.find((a: { name: string }) => a.name === "counter");
        assert.deepEqual(
            app.containers.map((c: { health: string }) => c.health),
            ["healthy"],
        );
        const web = app.containers[0] as { name: string; image: string };
        const onMachine = await m().exec(["docker", "inspect", "-f", "{{.Image}}", web.name]);
        assert.equal(onMachine.stdout.trim(), web.image, "ps shows the machine's container and the image it runs");
        const run = dropyardWithState(DIR, stateFile, "run", "counter", "--", "sh", "-c", "hostname; exit 3");
        assert.equal(run.status, 3, run.stderr);
        for (const out of [ps.stdout, ps.stderr, run.stdout, run.stderr]) assert.doesNotMatch(out, /PRIVATE KEY/);
    });

    test("a second up changes nothing and does not restart dockerd", async () => {
        const before = await dockerd();
        const t = Date.now();
        const s = await deploy();
        figures["warm no-op up"] = seconds(t);
        assert.deepEqual(changes(s), []);
        assert.equal(await dockerd(), before);
    });

    test("a reboot of the machine brings dockerd, the edge, the app and the database back, with the rows", async () => {
        const rows = await counterSql(m().container, "SELECT value FROM counter_counter WHERE name = 'clicks'");
        const t = Date.now();
        await m().restart();
        const page = await until("the counter through the edge after the reboot", 180, async () => {
            const r = await fetchVia({ host: DOMAIN, address: m().address, ca: root, timeoutMs: 3000 });
            if (r.status !== 200) throw new Error(`status ${r.status}`);
            return r;
        });
        figures["reboot to serving again"] = seconds(t);
        assert.match(page.body, new RegExp(`<output id="value">${rows}</output>`));
        assert.equal(await counterSql(m().container, "SELECT value FROM counter_counter WHERE name = 'clicks'"), rows);
    });
});
