// Every vhost variant, rendered by the real components, goes through a real `nginx -t` (Debian's
// nginx, installed by scripts/test-tools.sh), together with the edge's default file. A temp dir
// stands in for the edge container's filesystem: container paths in the configs are mapped into
// it, stub certificates are made with openssl, and nginx runs with -p/-c/-e so nothing under / is
// touched. The scripts that install those files are run for real against a stand-in `docker`.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { assertShellClean } from "../support/shellcheck";
import { evaluate, Graph } from "../../sandbox/harness";
import { defaultVhostTemplate, Host, LetsEncrypt, NginxVhost, NginxVhostArgs } from "../../lib";
import { tempDir, localHost } from "../support/fixtures";
import { LOCAL_COMMAND } from "../support/types";
import { chroot, makeRoot, NGINX, nginxT, stubCert } from "../support/nginx";
import { fakeCommands } from "../support/fake-commands";

const work = tempDir("dropyard-nginx-");

interface Built {
    host: Host;
    vhosts: NginxVhost[];
    graph: Graph;
}

/** Evaluates a stack under mocks and returns its vhosts (whose `config` is the file written). */
async function build(
    make: (host: Host) => NginxVhost[],
    hostArgs: Partial<ConstructorParameters<typeof Host>[1]> = {},
): Promise<Built> {
    let host: Host | undefined;
    let vhosts: NginxVhost[] = [];
    const graph = await evaluate(() => {
        host = localHost("box", { dataDir: path.join(work, "data"), ...hostArgs });
        vhosts = make(host);
    });
    return { host: host!, vhosts, graph };
}

/** Writes the edge default and the vhosts into a fresh root (stub certs for every TLS path) and runs nginx -t. */
function check(b: Built): { ok: boolean; output: string; root: string } {
    const root = makeRoot();
    fs.writeFileSync(path.join(root, "conf.d", "00-dropyard.conf"), chroot(b.host.edge.defaultConfig, root));
    for (const v of b.vhosts) {
        const cert = /ssl_certificate (\S+);/.exec(v.config)?.[1];
        const key = /ssl_certificate_key (\S+);/.exec(v.config)?.[1];
        if (cert && key) stubCert(root, cert, key);
        fs.writeFileSync(
            path.join(root, "conf.d", `vhost-${v.domains[0] ?? "any"}-${b.vhosts.indexOf(v)}.conf`),
            chroot(v.config, root),
        );
    }
    return { ...nginxT(root), root };
}

function assertNginxAccepts(b: Built): void {
    const r = check(b);
    assert.ok(r.ok, `nginx -t failed:\n${r.output}\n--- configs ---\n${b.vhosts.map(v => v.config).join("\n")}`);
    assert.match(r.output, /test is successful/);
}

const web = { name: "counter-web", port: 5000 };
const le = (host: Host, domains: string[]) => new LetsEncrypt("cert", { host, domains, email: "ops@example.com" });
const vhost = (host: Host, args: Partial<NginxVhostArgs>, name = "site") =>
    new NginxVhost(name, { host, domains: ["counter.example.com"], upstream: web, ...args });

test("nginx is the one the render tests need", () => {
    assert.ok(fs.existsSync(NGINX), "run scripts/test-tools.sh first: it installs Debian's nginx");
});

test("the edge's default file alone passes nginx -t", async () => {
    assertNginxAccepts(await build(() => []));
});

test("every server dropyard renders logs through a buffer in the edge's own format, which nginx -t accepts", async () => {
    const b = await build(host => [
        vhost(host, {}),
        vhost(host, { tls: "self-signed", domains: ["secure.example.com"] }, "secure"),
    ]);
    assertNginxAccepts(b);
    const files = [b.host.edge.defaultConfig, ...b.vhosts.map(v => v.config)];
    assert.match(b.host.edge.defaultConfig, /^log_format dropyard /m);
    // Unbuffered, each request's line costs Docker's log copier as much CPU as nginx spends on the request.
    for (const text of files) {
        const servers = text.match(/^server \{/gm)?.length ?? 0;
        const logs = text.match(/^ {4}access_log \/var\/log\/nginx\/access\.log dropyard buffer=64k flush=1s;$/gm);
        assert.ok(servers > 0);
        assert.equal(logs?.length, servers, text);
    }
});

test("plain HTTP passes nginx -t", async () => {
    assertNginxAccepts(await build(host => [vhost(host, {})]));
});

test("Let's Encrypt passes nginx -t", async () => {
    assertNginxAccepts(await build(host => [vhost(host, { tls: le(host, ["counter.example.com"]) })]));
});

test("self-signed passes nginx -t", async () => {
    assertNginxAccepts(
        await build(host => [vhost(host, { tls: "self-signed", domains: ["dev.example.com", "203.0.113.10"] })]),
    );
});

test("an own certificate passes nginx -t", async () => {
    assertNginxAccepts(await build(host => [vhost(host, { tls: { cert: "PEM", key: "KEY" } })]));
});

test("several domains (and a wildcard with an own certificate) pass nginx -t", async () => {
    assertNginxAccepts(
        await build(host => [
            vhost(host, {
                domains: ["counter.example.com", "www.counter.example.com"],
                tls: le(host, ["counter.example.com", "www.counter.example.com"]),
            }),
            vhost(
                host,
                { domains: ["*.apps.example.com", "apps.example.com"], tls: { cert: "PEM", key: "KEY" } },
                "apps",
            ),
        ]),
    );
});

test("websockets on and off pass nginx -t", async () => {
    const on = await build(host => [vhost(host, { websockets: true, tls: "self-signed" })]);
    assert.match(on.vhosts[0].config, /proxy_set_header Connection \$connection_upgrade;/);
    assertNginxAccepts(on);
    const off = await build(host => [vhost(host, { websockets: false })]);
    assert.doesNotMatch(off.vhosts[0].config, /Upgrade/);
    // Without the header nginx would send "Connection: close" and end each connection to the app.
    assert.match(off.vhosts[0].config, /proxy_set_header Connection "";/);
    assertNginxAccepts(off);
});

test("a custom snippet, body size, timeouts, gzip off and HSTS settings pass nginx -t", async () => {
    assertNginxAccepts(
        await build(host => [
            vhost(host, {
                tls: "self-signed",
                extraConfig: "location /static/ {\n    alias /srv/static/;\n    expires 7d;\n}",
                clientMaxBodySize: "64m",
                proxyTimeouts: { connect: 3, read: 300 },
                gzip: false,
                hsts: { maxAge: 31536000, includeSubDomains: true, preload: true },
            }),
        ]),
    );
});

test("a custom template, with and without TLS, passes nginx -t", async () => {
    const plain = `server {
    listen 80;
    server_name {{server_name}};
    {{acme_location}}
    {{resolver}}
    set $upstream {{upstream}};
    location / { proxy_pass $upstream; }
    location = /healthz { return 200 "ok"; }
}
`;
    const b = await build(host => [
        vhost(host, { template: plain }),
        vhost(
            host,
            {
                domains: ["secure.example.com"],
                tls: "self-signed",
                template: defaultVhostTemplate(true).replace("{{extra_config}}", "location = /ping { return 204; }"),
            },
            "secure",
        ),
    ]);
    assert.match(b.vhosts[0].config, /set \$upstream http:\/\/counter-web:5000;/);
    assertNginxAccepts(b);
});

test("a vhost for every other name (no domains) and another edge port pass nginx -t", async () => {
    const b = await build(host => [vhost(host, { domains: [] }, "fallback"), vhost(host, { tls: "self-signed" })], {
        edge: { httpsPort: 8443 },
    });
    assert.match(b.vhosts[1].config, /return 301 https:\/\/\$host:8443\$request_uri;/);
    assertNginxAccepts(b);
});

test("all variants together on one edge pass nginx -t (one map, one session cache zone)", async () => {
    assertNginxAccepts(
        await build(host => [
            vhost(host, { domains: ["a.example.com"] }, "a"),
            vhost(host, { domains: ["b.example.com"], tls: le(host, ["b.example.com"]) }, "b"),
            vhost(host, { domains: ["c.example.com"], tls: "self-signed" }, "c"),
            vhost(host, { domains: ["d.example.com"], tls: { cert: "PEM", key: "KEY" }, websockets: false }, "d"),
            vhost(host, { domains: [] }, "e"),
        ]),
    );
});

test("nginx -t really rejects a broken config (the check above can fail)", async () => {
    const r = check(await build(host => [vhost(host, { extraConfig: "proxy_pass_nonsense on;" })]));
    assert.equal(r.ok, false);
    assert.match(r.output, /unknown directive "proxy_pass_nonsense"/);
});

test("an upstream whose name does not resolve (its container not there yet) passes nginx -t; a fixed name would not", async () => {
    // The edge must start and reload while an app's container is missing (not created yet, stopped, crash-looping):
    // the vhost names it through a variable that nginx resolves per request. An `upstream` block or a plain
    // `proxy_pass http://<name>:<port>` is resolved when nginx loads its files, and fails them.
    const missing = { name: "no-such-container.invalid", port: 8000 };
    const b = await build(host => [vhost(host, { upstream: missing })]);
    assert.doesNotMatch(b.vhosts[0].config, /^\s*upstream\s/m);
    assertNginxAccepts(b);
    const fixed = check(
        await build(host => [
            vhost(host, {
                upstream: missing,
                template: defaultVhostTemplate(false).replace("proxy_pass $upstream;", "proxy_pass {{upstream}};"),
            }),
        ]),
    );
    assert.equal(fixed.ok, false);
    assert.match(fixed.output, /host not found in upstream "no-such-container\.invalid/);
});

// --- the install scripts, run for real against a stand-in docker -------------------------------

/**
 * A `docker` that answers `inspect` with the edge's state and logs every call. In the edge it runs RELOAD_LOOP here,
 * over an empty stand-in /proc, with an `nginx` whose `-t` is a real nginx -t over the host's conf.d (plain-HTTP
 * configs only: no certificates to map) and whose reload does nothing; `nginx -t` alone (an image without sh) too.
 */
function fakeDocker(root: string): { env: NodeJS.ProcessEnv; log: () => string[] } {
    const realTest = `${NGINX} -t -p ${JSON.stringify(root)} -c ${JSON.stringify(path.join(root, "nginx.conf"))} -e ${JSON.stringify(path.join(root, "logs", "error.log"))}`;
    const edgeBin = path.join(root, "edge-bin");
    fs.mkdirSync(path.join(root, "edge-proc"), { recursive: true });
    fs.mkdirSync(edgeBin, { recursive: true });
    fs.writeFileSync(path.join(edgeBin, "nginx"), `#!/bin/bash\nif [ "$*" = -t ]; then exec ${realTest}; fi\n`, {
        mode: 0o755,
    });
    const fake = fakeCommands(root, {
        docker: `case "$1" in
    inspect) [ -e ${JSON.stringify(path.join(root, "running"))} ] && echo true || { echo "no such container" >&2; exit 1; } ;;
    exec) shift 2
        if [ "$*" = "nginx -t" ]; then exec ${realTest}; fi
        if [ "$1 $2" = "sh -c" ]; then
            # FAKE_RELOAD_FAILS: the reload loop gives up, as in a container whose nginx never wrote its pid file.
            if [ -n "\${FAKE_RELOAD_FAILS:-}" ]; then echo 'open() "/run/nginx.pid" failed' >&2; exit 3; fi
            PATH=${JSON.stringify(edgeBin)}:$PATH exec sh -c "$3" "$4" "$5" ${JSON.stringify(path.join(root, "edge-proc"))}
        fi ;;
esac
`,
    });
    return { env: fake.env, log: () => fake.calls("docker") };
}

/** Host data dir inside `root` whose conf.d the fake root's nginx.conf includes. */
function scriptRoot(): { root: string; dataDir: string } {
    const root = makeRoot();
    const dataDir = path.join(root, "data");
    fs.writeFileSync(
        path.join(root, "nginx.conf"),
        fs
            .readFileSync(path.join(root, "nginx.conf"), "utf8")
            .replace(`include ${root}/conf.d/*.conf;`, `include ${dataDir}/nginx/conf.d/*.conf;`),
    );
    return { root, dataDir };
}

function runScript(script: string, env: NodeJS.ProcessEnv, stdin = ""): { status: number | null; stderr: string } {
    const r = spawnSync("/bin/bash", ["-c", script], { env, input: stdin, encoding: "utf8" });
    return { status: r.status, stderr: r.stderr };
}

async function scripts(dataDir: string, make: (host: Host) => void): Promise<Graph> {
    return evaluate(() => make(localHost("box", { dataDir })));
}
const cmd = (g: Graph, name: string) => g.one(LOCAL_COMMAND, name).inputs;

test("install scripts: edge setup before the container, then a vhost written, tested, reloaded, and removed", async () => {
    const { root, dataDir } = scriptRoot();
    const docker = fakeDocker(root);
    const g = await scripts(dataDir, host => vhost(host, {}));
    const conf = path.join(dataDir, "nginx", "conf.d");

    // The edge's first deploy: no container yet, so the file waits for it; nothing is tested.
    let r = runScript(cmd(g, "box-edge-setup").create, docker.env);
    assert.equal(r.status, 0, r.stderr);
    for (const d of ["nginx/conf.d", "certs", "letsencrypt", "acme", "certbot"])
        assert.ok(fs.statSync(path.join(dataDir, d)).isDirectory(), d);
    assert.ok(fs.existsSync(path.join(conf, "00-dropyard.conf")));
    assert.ok(!docker.log().some(l => l.startsWith("exec")));

    fs.writeFileSync(path.join(root, "running"), "");
    r = runScript(cmd(g, "site-config").create, docker.env);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(fs.existsSync(path.join(conf, "vhost-site.conf")));
    assert.deepEqual(
        docker.log().filter(l => l.startsWith("exec")),
        ["exec box-nginx sh -c RELOAD_LOOP reload 10"],
    );
    assert.deepEqual(
        fs.readdirSync(conf).sort(),
        ["00-dropyard.conf", "vhost-site.conf"],
        "no .new or .old files left",
    );

    r = runScript(cmd(g, "site-config").delete, docker.env);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!fs.existsSync(path.join(conf, "vhost-site.conf")));
    assert.equal(docker.log().at(-1), "exec box-nginx sh -c RELOAD_LOOP reload 10");
});

test("install scripts: a config nginx rejects is rolled back and the deploy fails with nginx's message", async () => {
    const { root, dataDir } = scriptRoot();
    const docker = fakeDocker(root);
    fs.writeFileSync(path.join(root, "running"), "");
    const good = await scripts(dataDir, host => vhost(host, {}));
    const bad = await scripts(dataDir, host => vhost(host, { extraConfig: "no_such_directive on;" }));
    const newBad = await scripts(dataDir, host =>
        vhost(host, { extraConfig: "no_such_directive on;", domains: ["other.example.com"] }, "other"),
    );
    const conf = path.join(dataDir, "nginx", "conf.d");
    assert.equal(runScript(cmd(good, "box-edge-setup").create, docker.env).status, 0);
    assert.equal(runScript(cmd(good, "site-config").create, docker.env).status, 0);
    const before = fs.readFileSync(path.join(conf, "vhost-site.conf"), "utf8");

    // An update nginx rejects: the previous file is back, and no reload happened.
    const reloads = docker.log().filter(l => l.endsWith("-s reload")).length;
    let r = runScript(cmd(bad, "site-config").create, docker.env);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /rejected the new configuration; the previous files are back in place/);
    assert.match(r.stderr, /unknown directive "no_such_directive"/);
    assert.equal(fs.readFileSync(path.join(conf, "vhost-site.conf"), "utf8"), before);
    assert.equal(docker.log().filter(l => l.endsWith("-s reload")).length, reloads);

    // A new file nginx rejects is removed.
    r = runScript(cmd(newBad, "other-config").create, docker.env);
    assert.equal(r.status, 1);
    assert.deepEqual(fs.readdirSync(conf).sort(), ["00-dropyard.conf", "vhost-site.conf"]);

    // With the edge stopped, the vhost deploy fails and leaves nothing behind.
    fs.rmSync(path.join(root, "running"));
    r = runScript(cmd(newBad, "other-config").create.replace("no_such_directive on;", ""), docker.env);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /box-nginx is not running/);
    assert.deepEqual(fs.readdirSync(conf).sort(), ["00-dropyard.conf", "vhost-site.conf"]);
});

test("install scripts: a reload that never works fails the change with nginx's message", async () => {
    const { root, dataDir } = scriptRoot();
    const docker = fakeDocker(root);
    fs.writeFileSync(path.join(root, "running"), "");
    const g = await scripts(dataDir, host => vhost(host, {}));
    assert.equal(runScript(cmd(g, "box-edge-setup").create, docker.env).status, 0);
    const r = runScript(cmd(g, "site-config").create, { ...docker.env, FAKE_RELOAD_FAILS: "1" });
    assert.equal(r.status, 3);
    assert.match(r.stderr, /open\(\) "\/run\/nginx.pid" failed/);
});

test("install scripts: certificate files get the key from standard input, mode 0600, never from the script", async () => {
    const { root, dataDir } = scriptRoot();
    const docker = fakeDocker(root);
    fs.writeFileSync(path.join(root, "running"), "");
    const key = "-----BEGIN PRIVATE KEY-----\nsecret-material\n-----END PRIVATE KEY-----\n";
    const g = await scripts(dataDir, host =>
        vhost(host, { tls: { cert: "-----BEGIN CERTIFICATE-----\nc\n-----END CERTIFICATE-----\n", key } }),
    );
    const tlsCmd = cmd(g, "site-tls");
    assert.ok(!tlsCmd.create.includes("secret-material"));
    assert.equal(runScript(cmd(g, "box-edge-setup").create, docker.env).status, 0);
    const r = runScript(tlsCmd.create, docker.env, tlsCmd.stdin);
    assert.equal(r.status, 0, r.stderr);
    const dir = path.join(dataDir, "certs", "site");
    assert.equal(fs.readFileSync(path.join(dir, "privkey.pem"), "utf8"), key);
    assert.equal(fs.statSync(path.join(dir, "privkey.pem")).mode & 0o777, 0o600);
    assert.match(fs.readFileSync(path.join(dir, "fullchain.pem"), "utf8"), /BEGIN CERTIFICATE/);

    assert.equal(runScript(tlsCmd.delete, docker.env).status, 0);
    assert.ok(!fs.existsSync(dir));
});

test("install scripts pass bash -n and shellcheck", async () => {
    const g = await scripts("/var/lib/dropyard", host => vhost(host, { tls: { cert: "C", key: "K" } }));
    for (const name of ["box-edge-setup", "site-config", "site-tls"]) {
        for (const phase of ["create", "delete"] as const) {
            const script = cmd(g, name)[phase];
            if (script === undefined) continue;
            assertShellClean(`${name}-${phase}`, script);
        }
    }
});
