import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
    chmodSync,
    existsSync,
    mkdirSync,
    mkdtempSync,
    readFileSync,
    rmSync,
    statSync,
    symlinkSync,
    writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { assertShellClean } from "../support/shellcheck";
import { tempDir } from "../support/fixtures";
import { BootstrapInput, DROP_IN, renderBootstrap, renderRemoteCommand, TLS_DIR } from "../../lib/render/bootstrap";

const dir = tempDir("dropyard-bootstrap-");

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
    assertShellClean("bootstrap", renderBootstrap(input()));
});

test("shellcheck catches a broken script, so the check above can fail", () => {
    assert.throws(
        () => assertShellClean("broken", renderBootstrap(input()).replace('cat >"$tmp"', "cat >$tmp")),
        /SC2086/,
    );
});

test("the bootstrap waits for cloud-init, clears the packaged ExecStart and serves 2376 with --tlsverify", () => {
    const s = renderBootstrap(input());
    assert.match(s, /cloud-init status --wait/);
    assert.match(s, /apt-get .*install -y .*"\$\{packages\[@\]\}"/);
    assert.match(s, /packages\+=\(docker\.io\)/);
    assert.match(s, /packages\+=\(cron\)/);
    assert.match(s, /apt-cache policy docker-cli/);
    assert.match(
        s,
        /\[Service\]\nExecStart=\nExecStart=\$dockerd_bin -H fd:\/\/\$containerd_flag\$opts_flag -H tcp:\/\/0\.0\.0\.0:2376 --tlsverify --tlscacert=\/etc\/docker\/dropyard\/ca\.pem --tlscert=\/etc\/docker\/dropyard\/server-cert\.pem --tlskey=\/etc\/docker\/dropyard\/server-key\.pem\n/,
    );
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
// bind mounts of temporary directories there, and systemctl, docker, dockerd, apt-get and cloud-init are stubs
// that log their calls. PATH holds only the stubs and the few real tools the script needs, so whether this
// machine has Docker changes nothing. Nothing on this machine's Docker or systemd is touched.
const canUnshare = run("unshare", ["--mount", "--propagation", "private", "true"]).status === 0;
const unshareSkip = !canUnshare && "unshare --mount is not permitted here";
const unshareBin = run("bash", ["-c", "command -v unshare"]).stdout.trim();
const REAL_TOOLS = [
    "bash",
    "sh",
    "mount",
    "mktemp",
    "cat",
    "cmp",
    "mv",
    "rm",
    "chmod",
    "install",
    "mkdir",
    "grep",
    "awk",
    "seq",
    "touch",
    "printf",
];

/** A simulated host: stub commands and the directories the bootstrap writes. */
function simulatedHost() {
    const root = mkdtempSync(join(dir, "host-"));
    const etcDocker = join(root, "etc-docker"),
        units = join(root, "units"),
        stubs = join(root, "bin"),
        tools = join(root, "tools"),
        state = join(root, "state");
    for (const d of [etcDocker, units, stubs, tools, state]) mkdirSync(d);
    for (const tool of REAL_TOOLS) {
        const found = run("bash", ["-c", `command -v ${tool}`]).stdout.trim();
        if (found.startsWith("/")) symlinkSync(found, join(tools, tool));
    }
    const unit = join(root, "docker.service");
    writeFileSync(
        unit,
        "[Service]\nEnvironmentFile=-/etc/default/docker\nExecStart=/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock $DOCKER_OPTS\n",
    );
    const stub = (name: string, body: string) => {
        writeFileSync(join(stubs, name), `#!/bin/sh\necho "${name} $*" >>"$STATE/log"\n${body}\n`);
        chmodSync(join(stubs, name), 0o755);
    };
    stub("cloud-init", "cat >/dev/null # reads stdin: it must not swallow the rest of a script fed to bash -s");
    stub("dockerd", "exit 0");
    stub("cron", "exit 0");
    stub("apt-get", "echo 'apt-get must not run when dockerd, docker and cron exist' >&2; exit 1");
    stub(
        "systemctl",
        `case "$1" in
  show) echo "$UNIT" ;;
  is-active) [ -f "$STATE/active" ] ;;
  restart) touch "$STATE/active" ;;
esac`,
    );
    stub("docker", `[ -f "$STATE/active" ]`);
    stub("journalctl", "exit 0");
    const bootstrap = (i: BootstrapInput, expectStatus = 0) => {
        const script = join(root, "bootstrap.sh");
        writeFileSync(script, renderBootstrap(i));
        writeFileSync(join(state, "log"), "");
        const r = run(
            unshareBin,
            [
                "--mount",
                "--propagation",
                "private",
                "bash",
                "-c",
                `set -e; mkdir -p /etc/docker; mount --bind "$1" /etc/docker; mount --bind "$2" /etc/systemd/system; exec bash -s <"$3"`,
                "bootstrap",
                etcDocker,
                units,
                script,
            ],
            { env: { PATH: `${stubs}:${tools}`, STATE: state, UNIT: unit } },
        );
        assert.equal(r.status, expectStatus, r.out);
        return { log: readFileSync(join(state, "log"), "utf8"), out: r.out };
    };
    return { root, etcDocker, units, stubs, stub, bootstrap };
}

test("the bootstrap is idempotent: a second run changes nothing and restarts nothing", { skip: unshareSkip }, () => {
    const { root, etcDocker, units, stubs, bootstrap } = simulatedHost();
    const dataDir = join(root, "data");
    const tlsFile = (f: string) => join(etcDocker, TLS_DIR.replace("/etc/docker/", ""), f);
    const dropIn = join(units, DROP_IN.replace("/etc/systemd/system/", ""));

    const first = bootstrap(input({ dataDir })).log;
    assert.match(first, /^cloud-init status --wait$/m);
    assert.match(first, /^systemctl daemon-reload$/m);
    assert.match(first, /^systemctl restart docker\.service$/m);
    assert.match(first, /^docker --tlsverify .*-H tcp:\/\/127\.0\.0\.1:2376 version$/m);
    assert.equal(readFileSync(tlsFile("server-key.pem"), "utf8"), input().serverKeyPem);
    assert.equal(statSync(tlsFile("server-key.pem")).mode & 0o777, 0o600);
    assert.equal(statSync(tlsFile("ca.pem")).mode & 0o777, 0o644);
    // $DOCKER_OPTS stays on the command line (systemd expands it from the unit's EnvironmentFile).
    assert.equal(
        readFileSync(dropIn, "utf8"),
        "[Service]\nExecStart=\n" +
            `ExecStart=${join(stubs, "dockerd")} -H fd:// --containerd=/run/containerd/containerd.sock $DOCKER_OPTS -H tcp://0.0.0.0:2376 --tlsverify ` +
            "--tlscacert=/etc/docker/dropyard/ca.pem --tlscert=/etc/docker/dropyard/server-cert.pem --tlskey=/etc/docker/dropyard/server-key.pem\n",
    );
    assert.ok(existsSync(dataDir));

    const second = bootstrap(input({ dataDir })).log;
    assert.doesNotMatch(second, /restart|daemon-reload/);
    assert.match(second, /^docker --tlsverify /m, "the daemon is still checked");

    const renewed = bootstrap(input({ dataDir, serverCertPem: pem("CERTIFICATE", "MIIBrenewed==") })).log;
    assert.match(renewed, /^systemctl restart docker\.service$/m, "a new server certificate restarts the daemon");
});

test(
    "dockerd without the docker command (Debian 13's docker.io): the bootstrap installs docker-cli",
    { skip: unshareSkip },
    () => {
        const { root, stubs, stub, bootstrap } = simulatedHost();
        rmSync(join(stubs, "docker"));
        stub(
            "apt-cache",
            `[ "$1 $2" = "policy docker-cli" ] && printf 'docker-cli:\\n  Installed: (none)\\n  Candidate: 26.1.5+dfsg1-9+b9\\n'`,
        );
        // Installing docker-cli brings the docker command.
        stub(
            "apt-get",
            `case "$*" in *install*docker-cli*) printf '#!/bin/sh\\necho "docker $*" >>"$STATE/log"\\n[ -f "$STATE/active" ]\\n' >"${stubs}/docker"; chmod 755 "${stubs}/docker" ;; esac`,
        );
        const first = bootstrap(input({ dataDir: join(root, "data") })).log;
        assert.match(first, /^apt-get .*install -y -qq --no-install-recommends docker\.io docker-cli$/m);
        assert.match(first, /^apt-cache policy docker-cli$/m);
        assert.match(first, /^docker --tlsverify /m);
        const second = bootstrap(input({ dataDir: join(root, "data") })).log;
        assert.doesNotMatch(second, /apt-get/, "nothing is installed once both commands are there");
    },
);

test(
    "where no docker-cli package exists (Ubuntu's docker.io carries the command), docker.io alone is installed",
    { skip: unshareSkip },
    () => {
        const { root, stubs, stub, bootstrap } = simulatedHost();
        rmSync(join(stubs, "docker"));
        rmSync(join(stubs, "dockerd"));
        stub("apt-cache", "exit 0 # no such package: apt-cache policy prints nothing");
        stub(
            "apt-get",
            `case "$*" in *install*) for c in docker dockerd; do printf '#!/bin/sh\\necho "%s $*" >>"$STATE/log"\\n[ -f "$STATE/active" ]\\n' "$c" >"${stubs}/$c"; chmod 755 "${stubs}/$c"; done ;; esac`,
        );
        const log = bootstrap(input({ dataDir: join(root, "data") })).log;
        assert.match(log, /^apt-get .*install -y -qq --no-install-recommends docker\.io$/m);
    },
);

test(
    "a machine without cron (a minimal image) gets cron installed, and Docker is left alone",
    { skip: unshareSkip },
    () => {
        const { root, stubs, stub, bootstrap } = simulatedHost();
        rmSync(join(stubs, "cron"));
        stub("apt-cache", "echo 'apt-cache must not run: Docker is there' >&2; exit 1");
        stub(
            "apt-get",
            `case "$*" in *install*cron*) printf '#!/bin/sh\\n' >"${stubs}/cron"; chmod 755 "${stubs}/cron" ;; esac`,
        );
        const first = bootstrap(input({ dataDir: join(root, "data") })).log;
        assert.match(first, /^apt-get .*install -y -qq --no-install-recommends cron$/m);
        const second = bootstrap(input({ dataDir: join(root, "data") })).log;
        assert.doesNotMatch(second, /apt-get/, "nothing is installed once cron is there");
    },
);

test("the docker command still missing after the install is an error that says so", { skip: unshareSkip }, () => {
    const { root, stubs, stub, bootstrap } = simulatedHost();
    rmSync(join(stubs, "docker"));
    stub("apt-cache", "exit 0");
    stub("apt-get", "exit 0");
    const { out } = bootstrap(input({ dataDir: join(root, "data") }), 1);
    assert.match(out, /docker is still missing after installing Docker/);
});

test(
    "a daemon that never answers: the bootstrap fails showing the last error and the daemon's journal",
    { skip: unshareSkip },
    () => {
        const { root, stub, bootstrap } = simulatedHost();
        stub("docker", "echo 'error during connect: remote error: tls: bad certificate' >&2; exit 1");
        stub("sleep", "exit 0");
        stub(
            "journalctl",
            "echo 'dockerd[42]: failed to load listeners: open /etc/docker/dropyard/server-key.pem: no such file'",
        );
        const { out, log } = bootstrap(input({ dataDir: join(root, "data") }), 1);
        assert.equal(log.match(/^docker --tlsverify /gm)?.length, 30, "30 attempts");
        assert.match(
            out,
            /did not answer on 2376 with mutual TLS within 60s; the last attempt said:\nerror during connect: remote error: tls: bad certificate\n/,
        );
        assert.match(out, /failed to load listeners/, "the journal tail is shown");
        assert.match(log, /^journalctl -u docker\.service --no-pager -n 40$/m);
    },
);

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
