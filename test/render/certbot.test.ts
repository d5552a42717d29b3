// The certbot scripts, as LetsEncrypt renders them: bash -n and shellcheck for every variant, then
// run for real against stand-in `docker` and `install` commands that log what they are asked to do
// (no certbot, no CA and nothing under /etc is touched).
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { assertShellClean } from "../support/shellcheck";
import { evaluate, Graph } from "../../sandbox/harness";
import { LetsEncrypt, LetsEncryptArgs } from "../../lib";
import { cronSchedule, renderRenewScript } from "../../lib/render/certbot";
import { tempDir, localHost } from "../support/fixtures";
import { LOCAL_COMMAND } from "../support/types";
import { fakeCommands } from "../support/fake-commands";

const work = tempDir("dropyard-certbot-");

const CA = "-----BEGIN CERTIFICATE-----\npebble-minica\n-----END CERTIFICATE-----\n";

async function cert(dataDir: string, args: Partial<LetsEncryptArgs> = {}): Promise<Graph> {
    return evaluate(() => {
        const host = localHost("box", { dataDir });
        new LetsEncrypt("cert", {
            host,
            domains: ["counter.example.com", "www.counter.example.com"],
            email: "ops@example.com",
            ...args,
        });
    });
}
const cmd = (g: Graph, name: string) => g.one(LOCAL_COMMAND, name).inputs;

test("every certbot script passes bash -n and shellcheck", async () => {
    const variants: Record<string, Partial<LetsEncryptArgs>> = {
        production: {},
        staging: { staging: true, email: undefined, autoRenew: true },
        "test-ca": {
            server: "https://pebble:14000/dir",
            networks: ["pebble-net", "other-net"],
            serverCaBundle: CA,
            autoRenew: true,
        },
    };
    for (const [variant, args] of Object.entries(variants)) {
        const g = await cert("/var/lib/dropyard", args);
        assertShellClean(`${variant}-issue`, cmd(g, "cert-issue").create);
        assertShellClean(`${variant}-renewal-install`, cmd(g, "cert-renewal").create);
        assertShellClean(`${variant}-renewal-remove`, cmd(g, "cert-renewal").delete);
    }
    for (const networks of [[], ["pebble-net"]]) {
        assertShellClean(
            `renew-${networks.length}`,
            renderRenewScript({
                run: {
                    image: "certbot/certbot:v4.0.0",
                    letsencryptDir: "/d/le",
                    webrootDir: "/d/acme",
                    stateDir: "/d/certbot/x",
                    networks,
                    caBundle: networks.length > 0,
                },
                certName: "x.example.com",
                edge: "box-nginx",
                lockFile: "/d/edge.lock",
                owner: "test",
            }),
        );
    }
});

/** Stand-ins for docker (certbot "renews" when FAKE_RENEW is set) and install (copies into cronDir). */
function fakes(root: string): { env: NodeJS.ProcessEnv; log: () => string[]; cronDir: string } {
    const cronDir = path.join(root, "cron.d");
    fs.mkdirSync(cronDir, { recursive: true });
    const fake = fakeCommands(root, {
        docker: `case "$1" in
    run|create)
        prev=""
        for a in "$@"; do
            if [ "$prev" = "-v" ] && [[ "$a" == *:/dropyard ]] && [ -n "\${FAKE_RENEW:-}" ]; then touch "\${a%:/dropyard}/renewed"; fi
            prev="$a"
        done
        if [ "$1" = create ]; then echo cid123; fi ;;
esac
`,
        // install -m MODE -o USER -g GROUP SRC DEST -> copies SRC into the fake cron dir
        install: `cp "\${@: -2:1}" ${JSON.stringify(cronDir)}/"$(basename "\${@: -1}")"\n`,
    });
    return {
        env: { ...fake.env, DROPYARD_RENEW_NOW: "1" },
        // The stand-in answers the reload loop (tested in edge-files.test.ts) with no workers to wait for.
        log: () => fake.calls("docker"),
        cronDir,
    };
}

function run(
    script: string,
    env: NodeJS.ProcessEnv,
    args: string[] = [],
): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync("/bin/bash", ["-c", script, "bash", ...args], { env, encoding: "utf8" });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("issue: certbot certonly in a throwaway container with the edge's dirs, then nginx -t and a reload in one exec", async () => {
    const root = fs.mkdtempSync(path.join(work, "issue-"));
    const f = fakes(root);
    const dataDir = path.join(root, "data");
    const g = await cert(dataDir);
    const r = run(cmd(g, "cert-issue").create, f.env);
    assert.equal(r.status, 0, r.stderr);
    const [certbot, ...rest] = f.log();
    assert.ok(certbot.startsWith("run --rm --user 0:0 "), certbot);
    assert.ok(
        certbot.includes(
            `-v ${dataDir}/letsencrypt:/etc/letsencrypt -v ${dataDir}/acme:/var/www/acme -v ${dataDir}/certbot/counter.example.com:/dropyard`,
        ),
    );
    assert.ok(
        certbot.includes(
            "certbot/certbot:v4.0.0 certonly --webroot -w /var/www/acme --cert-name counter.example.com -d counter.example.com -d www.counter.example.com --non-interactive --agree-tos --keep-until-expiring --expand --email ops@example.com --no-eff-email",
        ),
        certbot,
    );
    assert.deepEqual(rest, ["exec box-nginx sh -c RELOAD_LOOP reload 10"]);
});

test("issue for a test CA: certbot joins the extra networks, trusts the CA bundle and uses the server", async () => {
    const root = fs.mkdtempSync(path.join(work, "pebble-"));
    const f = fakes(root);
    const dataDir = path.join(root, "data");
    const g = await cert(dataDir, {
        email: undefined,
        server: "https://pebble:14000/dir",
        networks: ["pebble-net"],
        serverCaBundle: CA,
    });
    const r = run(cmd(g, "cert-issue").create, f.env);
    assert.equal(r.status, 0, r.stderr);
    const calls = f.log().map(l => l.split(" ").slice(0, 2).join(" "));
    assert.deepEqual(calls, ["create --user", "network connect", "start -a", "rm -f", "exec box-nginx"]);
    assert.match(
        f.log()[0],
        /-e REQUESTS_CA_BUNDLE=\/dropyard\/ca\.pem .*--register-unsafely-without-email --server https:\/\/pebble:14000\/dir/,
    );
    assert.equal(f.log()[1], "network connect pebble-net cid123");
    assert.equal(fs.readFileSync(path.join(dataDir, "certbot", "counter.example.com", "ca.pem"), "utf8"), CA);
});

test("renewal script: reloads the edge only when certbot's deploy hook says something was renewed", async () => {
    const root = fs.mkdtempSync(path.join(work, "renew-"));
    const f = fakes(root);
    const dataDir = path.join(root, "data");
    const g = await cert(dataDir);
    // local host, default: the script is written, no cron entry.
    let r = run(cmd(g, "cert-renewal").create, f.env);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(fs.readdirSync(f.cronDir), []);
    const script = path.join(dataDir, "certbot", "counter.example.com", "renew.sh");
    assert.equal(fs.statSync(script).mode & 0o755, 0o755);

    // Nothing due: certbot runs, nginx is left alone.
    r = run(`exec ${script} --dry-run`, f.env);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(f.log().length, 1);
    assert.match(
        f.log()[0],
        /certbot\/certbot:v4\.0\.0 renew --cert-name counter\.example\.com --non-interactive --no-random-sleep-on-renew --deploy-hook touch \/dropyard\/renewed --dry-run/,
    );

    // Renewed: the hook's marker leads to nginx -t and a reload (one exec), and is cleared.
    r = run(`exec ${script}`, { ...f.env, FAKE_RENEW: "1" });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(f.log().slice(2), ["exec box-nginx sh -c RELOAD_LOOP reload 10"]);
    assert.match(r.stdout, /renewed counter\.example\.com; nginx in box-nginx reloaded/);
    assert.ok(!fs.existsSync(path.join(dataDir, "certbot", "counter.example.com", "renewed")));

    // Removal takes the script away.
    r = run(cmd(g, "cert-renewal").delete, f.env);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!fs.existsSync(script));
});

test("autoRenew: a cron entry twice a day, as the installing user, piped to syslog", async () => {
    const root = fs.mkdtempSync(path.join(work, "cron-"));
    const f = fakes(root);
    const dataDir = path.join(root, "data");
    const g = await cert(dataDir, { autoRenew: true });
    const r = run(cmd(g, "cert-renewal").create, f.env);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(fs.readdirSync(f.cronDir), ["dropyard-box-counter-example-com"]);
    const lines = fs.readFileSync(path.join(f.cronDir, "dropyard-box-counter-example-com"), "utf8").trim().split("\n");
    assert.equal(lines[1], "SHELL=/bin/bash");
    const schedule = cronSchedule("box/counter.example.com");
    const user = execFileSync("id", ["-un"], { encoding: "utf8" }).trim();
    assert.equal(
        lines[3],
        `${schedule} ${user} /bin/bash '${dataDir}/certbot/counter.example.com/renew.sh' 2>&1 | logger -t dropyard-renew`,
    );
    assert.ok(!lines.join("\n").includes("%"), "cron treats % as a newline");
});

test("cronSchedule: twice a day, 12 hours apart, stable per seed and spread across seeds", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
        const s = cronSchedule(`host/${i}.example.com`);
        const m = /^(\d+) (\d+),(\d+) \* \* \*$/.exec(s);
        assert.ok(m, s);
        const [minute, h1, h2] = m.slice(1).map(Number);
        assert.ok(minute < 60 && h1 < 12 && h2 === h1 + 12, s);
        assert.equal(cronSchedule(`host/${i}.example.com`), s);
        seen.add(s);
    }
    assert.ok(seen.size > 40, `only ${seen.size} distinct schedules`);
});
