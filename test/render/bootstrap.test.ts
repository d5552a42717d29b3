import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BootstrapInput, DROP_IN, renderBootstrap, renderRemoteCommand, TLS_DIR } from "../../lib/render/bootstrap";

const dir = mkdtempSync(join(tmpdir(), "dropyard-bootstrap-"));

const pem = (label: string, body: string) => `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
const input = (over: Partial<BootstrapInput> = {}): BootstrapInput => ({
    caCertPem: pem("CERTIFICATE", "MIIBcaAAAA/+=="),
    serverCertPem: pem("CERTIFICATE", "MIIBserverBBBB/+=="),
    serverKeyPem: pem("EC PRIVATE KEY", "MHcserverkey/+=="),
    clientCertPem: pem("CERTIFICATE", "MIIBclientCCCC/+=="),
    clientKeyPem: pem("EC PRIVATE KEY", "MHcclientkey/+=="),
    dataDir: "/var/lib/dropyard",
    ...over,
});

function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
    const r = spawnSync(cmd, args, { encoding: "utf8", ...opts });
    assert.equal(r.error, undefined, `${cmd} could not run (scripts/test-tools.sh installs it): ${r.error}`);
    return { status: r.status, out: r.stdout + r.stderr, stdout: r.stdout };
}

test("the bootstrap script passes bash -n and shellcheck", () => {
    const file = join(dir, "bootstrap.sh");
    writeFileSync(file, renderBootstrap(input()));
    const syntax = run("bash", ["-n", file]);
    assert.equal(syntax.status, 0, syntax.out);
    const lint = run("shellcheck", ["--shell=bash", "--severity=style", file]);
    assert.equal(lint.status, 0, lint.out);
});

test("shellcheck catches a broken script, so the check above can fail", () => {
    const file = join(dir, "broken.sh");
    writeFileSync(file, renderBootstrap(input()).replace('cat >"$tmp"', "cat >$tmp"));
    assert.notEqual(run("shellcheck", ["--shell=bash", file]).status, 0);
});

test("the bootstrap waits for cloud-init, clears the packaged ExecStart and serves 2376 with --tlsverify", () => {
    const s = renderBootstrap(input());
    assert.match(s, /cloud-init status --wait/);
    assert.match(s, /apt-get .*install -y .*docker\.io/);
    assert.match(s, /\[Service\]\nExecStart=\nExecStart=\$dockerd_bin -H fd:\/\/\$containerd_flag -H tcp:\/\/0\.0\.0\.0:2376 --tlsverify --tlscacert=\/etc\/docker\/dropyard\/ca\.pem --tlscert=\/etc\/docker\/dropyard\/server-cert\.pem --tlskey=\/etc\/docker\/dropyard\/server-key\.pem\n/);
    assert.match(s, /docker --tlsverify [^\n]*\\\n\s+-H tcp:\/\/127\.0\.0\.1:2376 version/);
    assert.match(s, /install -d -m 0755 '\/var\/lib\/dropyard'/);
});

test("rendering is pure: the same input gives the same script", () => {
    assert.equal(renderBootstrap(input()), renderBootstrap(input()));
});

test("content that would end a heredoc early is refused", () => {
    assert.throws(() => renderBootstrap(input({ caCertPem: "x\nDROPYARD_EOF\ny" })), /DROPYARD_EOF/);
});

// Runs the real script (on stdin, as over SSH) in a private mount namespace: /etc/docker and /etc/systemd/system are
// bind mounts of temporary directories there, and systemctl, docker, dockerd and cloud-init are stubs
// that log their calls. Nothing on this machine's Docker or systemd is touched.
const canUnshare = run("unshare", ["--mount", "--propagation", "private", "true"]).status === 0;

test("the bootstrap is idempotent: a second run changes nothing and restarts nothing", { skip: !canUnshare && "unshare --mount is not permitted here" }, () => {
    const root = mkdtempSync(join(dir, "host-"));
    const etcDocker = join(root, "etc-docker"), units = join(root, "units"), stubs = join(root, "bin"), state = join(root, "state");
    for (const d of [etcDocker, units, stubs, state]) mkdirSync(d);
    const unit = join(root, "docker.service");
    writeFileSync(unit, "[Service]\nExecStart=/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock\n");
    const stub = (name: string, body: string) => {
        writeFileSync(join(stubs, name), `#!/bin/sh\necho "${name} $*" >>"$STATE/log"\n${body}\n`);
        chmodSync(join(stubs, name), 0o755);
    };
    stub("cloud-init", "cat >/dev/null # reads stdin: it must not swallow the rest of a script fed to bash -s");
    stub("dockerd", "exit 0");
    stub("apt-get", "echo 'apt-get must not run when dockerd exists' >&2; exit 1");
    stub("systemctl", `case "$1" in
  show) echo "$UNIT" ;;
  is-active) [ -f "$STATE/active" ] ;;
  restart) touch "$STATE/active" ;;
esac`);
    stub("docker", `[ -f "$STATE/active" ]`);
    const dataDir = join(root, "data");
    const bootstrap = (i: BootstrapInput) => {
        const script = join(root, "bootstrap.sh");
        writeFileSync(script, renderBootstrap(i));
        writeFileSync(join(state, "log"), "");
        const r = run("unshare", ["--mount", "--propagation", "private", "bash", "-c",
            `set -e; mkdir -p /etc/docker; mount --bind "$1" /etc/docker; mount --bind "$2" /etc/systemd/system; exec bash -s <"$3"`,
            "bootstrap", etcDocker, units, script], { env: { ...process.env, PATH: `${stubs}:${process.env.PATH}`, STATE: state, UNIT: unit } });
        assert.equal(r.status, 0, r.out);
        return readFileSync(join(state, "log"), "utf8");
    };
    const tlsFile = (f: string) => join(etcDocker, TLS_DIR.replace("/etc/docker/", ""), f);
    const dropIn = join(units, DROP_IN.replace("/etc/systemd/system/", ""));

    const first = bootstrap(input({ dataDir }));
    assert.match(first, /^cloud-init status --wait$/m);
    assert.match(first, /^systemctl daemon-reload$/m);
    assert.match(first, /^systemctl restart docker\.service$/m);
    assert.match(first, /^docker --tlsverify .*-H tcp:\/\/127\.0\.0\.1:2376 version$/m);
    assert.equal(readFileSync(tlsFile("server-key.pem"), "utf8"), input().serverKeyPem);
    assert.equal(statSync(tlsFile("server-key.pem")).mode & 0o777, 0o600);
    assert.equal(statSync(tlsFile("ca.pem")).mode & 0o777, 0o644);
    assert.equal(readFileSync(dropIn, "utf8"), "[Service]\nExecStart=\n" +
        `ExecStart=${join(stubs, "dockerd")} -H fd:// --containerd=/run/containerd/containerd.sock -H tcp://0.0.0.0:2376 --tlsverify ` +
        "--tlscacert=/etc/docker/dropyard/ca.pem --tlscert=/etc/docker/dropyard/server-cert.pem --tlskey=/etc/docker/dropyard/server-key.pem\n");
    assert.ok(existsSync(dataDir));

    const second = bootstrap(input({ dataDir }));
    assert.doesNotMatch(second, /restart|daemon-reload/);
    assert.match(second, /^docker --tlsverify /m, "the daemon is still checked");

    const renewed = bootstrap(input({ dataDir, serverCertPem: pem("CERTIFICATE", "MIIBrenewed==") }));
    assert.match(renewed, /^systemctl restart docker\.service$/m, "a new server certificate restarts the daemon");
});

test("a host command's environment reaches the script through the login shell, quotes and all", () => {
    const env = { B_PLAIN: "two words", A_TRICKY: `it's "$HOME" \`x\` \\ ;\nline2` };
    const line = renderRemoteCommand(env, 'printf "%s|%s" "$A_TRICKY" "$B_PLAIN"', false);
    assert.ok(line.startsWith("bash -c '"));
    // sshd hands the command line to the user's login shell: sh -c "<line>".
    const r = run("sh", ["-c", line]);
    assert.equal(r.status, 0, r.out);
    assert.equal(r.stdout, `${env.A_TRICKY}|${env.B_PLAIN}`);
});

test("a host command for a non-root user runs under sudo -n; bad environment keys are refused", () => {
    assert.match(renderRemoteCommand({}, "true", true), /^sudo -n bash -c 'true'$/);
    assert.throws(() => renderRemoteCommand({ "NOT-A-NAME": "x" }, "true", false), /not a shell variable name/);
});
