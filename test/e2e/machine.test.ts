// The droplet/server path for real, on a sandbox machine (issue 11): the rendered bootstrap runs over SSH as
// lib/host.ts sends it (`sudo -n bash -s` for a `deploy` user, the script on standard input), installs docker.io
// with apt, and serves Docker's API on 2376 with mutual TLS. Needs dropyard-sandbox/machine:trixie
// (sandbox/images/build.sh machine). Heavy on CPU: run it alone, e.g.
//   flock /tmp/dropyard-e2e.lock node --import tsx --test test/e2e/machine.test.ts
import { after, before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { DOCKER_TLS_PORT, renderBootstrap, renderRemoteCommand } from "../../lib/render/bootstrap";
import { renderCloudInit } from "../../lib/render/cloud-init";
import { Machine, startMachine } from "../../sandbox/machine";
import { DockerTlsPems, httpsGet, makeDockerTls, sshKey, SshKey, sshRun, tcpOpen } from "./support/machine";
import { until } from "../support/until";

const DATA_DIR = "/var/lib/dropyard";

describe("a sandbox machine bootstrapped over SSH", { timeout: 30 * 60_000 }, () => {
    let machine: Machine | undefined;
    let key: SshKey;
    let tls: DockerTlsPems;
    let script: string;
    const figures: Record<string, string> = {};

    const m = () => {
        if (!machine) throw new Error("the machine did not start");
        return machine;
    };
    const bootstrap = (timeoutMs: number) =>
        sshRun(m().address, m().user, key.privateKey, "sudo -n bash -s", script, timeoutMs);
    const dockerd = async () => {
        const r = await m().exec([
            "systemctl",
            "show",
            "-p",
            "MainPID",
            "-p",
            "ExecMainStartTimestampMonotonic",
            "docker.service",
        ]);
        assert.equal(r.code, 0, r.stderr);
        return r.stdout.trim();
    };
    const version = (pems: { ca: string; cert?: string; key?: string }) =>
        httpsGet(m().address, DOCKER_TLS_PORT, "/version", pems);
    const client = () => ({ ca: tls.caCertPem, cert: tls.clientCertPem, key: tls.clientKeyPem });

    before(async () => {
        key = sshKey();
        machine = await startMachine({ name: `e2e-${randomBytes(3).toString("hex")}`, authorizedKey: key.publicKey });
        figures["boot to running"] = `${(machine.bootMs / 1000).toFixed(1)}s`;
        tls = await makeDockerTls(machine.name, [machine.address]);
        script = renderBootstrap({ ...tls, dataDir: DATA_DIR });
    });

    after(async () => {
        await machine?.stop();
        if (Object.keys(figures).length) console.log(`machine figures: ${JSON.stringify(figures)}`);
    });

    it("boots like a machine without Docker: sshd, cloud-init done, the deploy user with passwordless sudo", async () => {
        const r = await sshRun(
            m().address,
            "deploy",
            key.privateKey,
            "sudo -n id -u && cloud-init status && (command -v dockerd docker || echo no-docker)",
            "",
            60_000,
        );
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^0\nstatus: done\nno-docker\n$/);
    });

    it("the rendered bootstrap installs docker.io with apt and serves 2376 with mutual TLS (cold run)", async () => {
        const t0 = Date.now();
        const r = await bootstrap(20 * 60_000);
        figures["bootstrap, cold (apt installs docker.io)"] = `${((Date.now() - t0) / 1000).toFixed(1)}s`;
        assert.equal(r.code, 0, `bootstrap failed:\n${r.stderr}\n${r.stdout}`);
        // trixie's docker.io holds only the daemon: the docker command comes from docker-cli.
        assert.match(r.stderr, /dropyard-bootstrap: installing docker\.io docker-cli\n/);
        assert.match(r.stderr, /dropyard-bootstrap: docker answers on 2376 with mutual TLS/);
        const cmds = await m().exec([
            "bash",
            "-c",
            "command -v dockerd docker && dpkg-query -W -f '${Version}\\n' docker.io && test -d " + DATA_DIR,
        ]);
        assert.equal(cmds.code, 0, cmds.stdout + cmds.stderr);
        figures["docker.io"] = cmds.stdout.trim().split("\n").pop()!;
    });

    it("docker answers on ADDRESS:2376 with the client certificate", async () => {
        const r = await version(client());
        assert.equal(r.status, 200, r.body);
        assert.match(JSON.parse(r.body).Version, /^\d+\.\d+/);
    });

    it("a host command, sent as lib/host.ts sends it, finds the docker command on the host", async () => {
        const line = renderRemoteCommand(
            { DROPYARD_CHECK: "it's here" },
            'docker version --format "{{.Server.Version}}" && echo "$DROPYARD_CHECK"',
            true,
        );
        const r = await sshRun(m().address, m().user, key.privateKey, line, "", 60_000);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^\d+\.\d+\.\d+\S*\nit's here\n$/);
    });

    it("refuses a client without a certificate, and one whose certificate another CA signed", async () => {
        await assert.rejects(version({ ca: tls.caCertPem }), /certificate|handshake|socket hang up|ECONNRESET/i);
        const other = await makeDockerTls("other", ["127.0.0.1"]);
        await assert.rejects(
            version({ ca: tls.caCertPem, cert: other.clientCertPem, key: other.clientKeyPem }),
            /certificate|unknown ca|handshake|socket hang up|ECONNRESET/i,
        );
        // And the daemon is not someone else's: a client trusting only the other CA refuses the server.
        await assert.rejects(
            version({ ca: other.caCertPem, cert: tls.clientCertPem, key: tls.clientKeyPem }),
            /certificate/i,
        );
    });

    it("serves nothing on 2375 (plain TCP)", async () => {
        assert.equal(await tcpOpen(m().address, 2375), false);
    });

    it("a second run exits 0, changes nothing and does not restart dockerd", async () => {
        const before = await dockerd();
        const t0 = Date.now();
        const r = await bootstrap(5 * 60_000);
        figures["bootstrap, warm (second run)"] = `${((Date.now() - t0) / 1000).toFixed(1)}s`;
        assert.equal(r.code, 0, `second bootstrap failed:\n${r.stderr}`);
        assert.doesNotMatch(r.stderr, /installing|restarting docker/);
        assert.equal(await dockerd(), before, "dockerd's pid and start time are unchanged");
    });

    it("a restart of the machine brings the 2376 listener back", async () => {
        const address = m().address;
        await m().restart();
        figures["reboot to running"] = `${(m().bootMs / 1000).toFixed(1)}s`;
        assert.equal(m().address, address, "the machine kept its address (the server certificate names it)");
        const r = await until("docker on 2376 after the restart", 120, () => version(client()));
        assert.equal(r.status, 200, r.body);
        assert.equal(await tcpOpen(m().address, 2375), false);
    });
});

// A droplet boots with renderCloudInit's user data, which installs docker.io through cloud-init before the
// bootstrap runs. Swap is left out (swapMiB 0): swap is the kernel's, shared with the host running the sandbox,
// and a swap file on the machine's overlay root cannot be enabled anyway (swapon: Invalid argument).
describe("a sandbox machine booted with the droplet's user data", { timeout: 30 * 60_000 }, () => {
    let machine: Machine | undefined;
    let key: SshKey;
    const figures: Record<string, string> = {};
    const m = () => {
        if (!machine) throw new Error("the machine did not start");
        return machine;
    };

    before(async () => {
        key = sshKey();
        machine = await startMachine({
            name: `e2e-${randomBytes(3).toString("hex")}`,
            authorizedKey: key.publicKey,
            userData: renderCloudInit({ swapMiB: 0 }),
            bootTimeoutMs: 15 * 60_000,
        });
        figures["boot to running, cloud-init installing docker.io"] = `${(machine.bootMs / 1000).toFixed(1)}s`;
    });

    after(async () => {
        await machine?.stop();
        if (Object.keys(figures).length) console.log(`machine figures (droplet user data): ${JSON.stringify(figures)}`);
    });

    it("cloud-init runs the user data without errors and leaves both dockerd and the docker command", async () => {
        const r = await m().exec(["bash", "-c", "cloud-init status --long; command -v dockerd docker"]);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /^status: done$/m);
        assert.match(r.stdout, /^errors: \[\]$/m);
        // cloud-init installs with recommends: on Debian 13 that brings docker-cli along with docker.io.
        assert.match(r.stdout, /^\/usr\/sbin\/dockerd\n\/usr\/bin\/docker$/m);
    });

    it("the bootstrap then installs nothing and serves 2376 with mutual TLS", async () => {
        const tls = await makeDockerTls(m().name, [m().address]);
        const t0 = Date.now();
        const r = await sshRun(
            m().address,
            m().user,
            key.privateKey,
            "sudo -n bash -s",
            renderBootstrap({ ...tls, dataDir: DATA_DIR }),
            10 * 60_000,
        );
        figures["bootstrap after cloud-init"] = `${((Date.now() - t0) / 1000).toFixed(1)}s`;
        assert.equal(r.code, 0, `bootstrap failed:\n${r.stderr}`);
        assert.doesNotMatch(r.stderr, /installing/);
        const v = await httpsGet(m().address, DOCKER_TLS_PORT, "/version", {
            ca: tls.caCertPem,
            cert: tls.clientCertPem,
            key: tls.clientKeyPem,
        });
        assert.equal(v.status, 200, v.body);
    });
});
