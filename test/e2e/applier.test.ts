// The sandbox's own end-to-end tests: real values for random and tls resources, stack loading, and the
// applier on the real Docker engine with a fixture stack (fixtures/web-stack: dropyard's Host and
// BridgeNet plus plain docker, random and command resources). Test traffic goes only to the fixture's
// docker network (from a container on it) and to loopback. Everything created is removed at the end.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { down, up, UpSummary } from "../../sandbox";
import { goDurationNs } from "../../sandbox/lib/duration";
import { randomOutputs } from "../../sandbox/lib/random-values";
import { Scrubber } from "../../sandbox/lib/secrets";
import { fetchVia } from "../../sandbox/lib/http";
import {
    certRequestOutputs,
    locallySignedCertOutputs,
    privateKeyOutputs,
    selfSignedCertOutputs,
} from "../../sandbox/lib/tls-values";
import { prepareEngine as engineAndImages } from "../../sandbox/prepare";
import { statePath } from "../../sandbox/state";
import { containersWhere, docker, engine, events as engineEvents, inspect, theContainer } from "../support/docker";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";

const WEB = join(__dirname, "fixtures", "web-stack");
const ODD = join(__dirname, "fixtures", "odd-stack");
const BUSYBOX = "dropyard-sandbox/busybox:test";
const LABEL = "label=dev.dropyard.test=applier";

/** Whether the engine has the object (`docker <kind> inspect` exits 0). */
async function exists(inspectIt: () => Promise<unknown>): Promise<boolean> {
    return "value" in (await engine.attempt(inspectIt));
}

/** Names of the volumes carrying the test's label. */
async function labelledVolumes(): Promise<string[]> {
    const { Volumes } = await engine.docker.listVolumes({ filters: { label: [LABEL.slice("label=".length)] } });
    return (Volumes ?? []).map(v => v.Name);
}

/** Lets a test be read as the run went: the summary's timings and the lines the sandbox logged. */
function quiet(lines: string[]): (line: string) => void {
    return line => lines.push(line);
}

describe("real values for random resources", () => {
    test("RandomPassword honours length, character classes, overrideSpecial and minimums", () => {
        for (let n = 0; n < 50; n++) {
            const { result } = randomOutputs("random:index/randomPassword:RandomPassword", "pw", {
                length: 12,
                upper: false,
                overrideSpecial: "_%",
                minSpecial: 4,
                minNumeric: 3,
            }) as { result: string };
            assert.equal(result.length, 12);
            assert.match(result, /^[a-z0-9_%]{12}$/);
            assert.ok(result.replace(/[^_%]/g, "").length >= 4, result);
            assert.ok(result.replace(/\D/g, "").length >= 3, result);
        }
    });

    test("RandomString with only numeric characters gives digits", () => {
        const { result } = randomOutputs("random:index/randomString:RandomString", "s", {
            length: 30,
            special: false,
            upper: false,
            lower: false,
        }) as { result: string };
        assert.match(result, /^\d{30}$/);
    });

    test("RandomPassword refuses minimums that do not fit its length", () => {
        assert.throws(
            () =>
                randomOutputs("random:index/randomPassword:RandomPassword", "pw", {
                    length: 3,
                    minUpper: 2,
                    minNumeric: 2,
                }),
            {
                message:
                    'random:index/randomPassword:RandomPassword "pw": length 3 is less than the sum of the min* fields (4); raise length or lower the minimums',
            },
        );
    });

    test("RandomId gives the same bytes as hex, base64url and decimal, with the prefix", () => {
        const id = randomOutputs("random:index/randomId:RandomId", "id", { byteLength: 8, prefix: "p-" }) as Record<
            string,
            string
        >;
        const hex = id.hex.slice(2);
        assert.match(id.hex, /^p-[0-9a-f]{16}$/);
        assert.equal(Buffer.from(id.b64Url.slice(2), "base64url").toString("hex"), hex);
        assert.equal(id.dec, "p-" + BigInt("0x" + hex).toString(10));
    });
});

describe("real keys and certificates for tls resources", () => {
    test("a CA signs a server certificate that openssl verifies, with the request's names and the allowed uses", async () => {
        const caKey = privateKeyOutputs("tls:index/privateKey:PrivateKey", "ca", {
            algorithm: "ECDSA",
            ecdsaCurve: "P256",
        }) as Record<string, string>;
        const ca = (await selfSignedCertOutputs("tls:index/selfSignedCert:SelfSignedCert", "ca", {
            privateKeyPem: caKey.privateKeyPem,
            subject: { commonName: "Sandbox CA", organization: "dropyard" },
            isCaCertificate: true,
            allowedUses: ["cert_signing", "crl_signing"],
            validityPeriodHours: 48,
            setSubjectKeyId: true,
        })) as Record<string, string>;
        const key = privateKeyOutputs("tls:index/privateKey:PrivateKey", "srv", {
            algorithm: "RSA",
            rsaBits: 2048,
        }) as Record<string, string>;
        const csr = (await certRequestOutputs("tls:index/certRequest:CertRequest", "srv", {
            privateKeyPem: key.privateKeyPem,
            subject: { commonName: "app.example.test" },
            dnsNames: ["app.example.test"],
            ipAddresses: ["127.0.0.1"],
        })) as Record<string, string>;
        const cert = (await locallySignedCertOutputs("tls:index/locallySignedCert:LocallySignedCert", "srv", {
            certRequestPem: csr.certRequestPem,
            caPrivateKeyPem: caKey.privateKeyPem,
            caCertPem: ca.certPem,
            allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
            validityPeriodHours: 24,
        })) as Record<string, string>;

        const dir = mkdtempSync(join(tmpdir(), "applier-tls-"));
        try {
            writeFileSync(join(dir, "ca.pem"), ca.certPem);
            writeFileSync(join(dir, "srv.pem"), cert.certPem);
            assert.equal(
                execFileSync("openssl", ["verify", "-CAfile", "ca.pem", "srv.pem"], {
                    cwd: dir,
                    encoding: "utf8",
                }).trim(),
                "srv.pem: OK",
            );
            const text = execFileSync("openssl", ["x509", "-in", "srv.pem", "-noout", "-text"], {
                cwd: dir,
                encoding: "utf8",
            });
            assert.match(text, /Key Usage: critical\s+Digital Signature, Key Encipherment/);
            assert.match(text, /Extended Key Usage:\s+TLS Web Server Authentication/);
            assert.match(text, /CA:FALSE/);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
        const x = new X509Certificate(cert.certPem);
        assert.equal(x.subjectAltName, "DNS:app.example.test, IP Address:127.0.0.1");
        assert.equal(x.subject, "CN=app.example.test");
        assert.equal(new X509Certificate(ca.certPem).ca, true);
        assert.equal(x.checkPrivateKey(createPrivateKey(key.privateKeyPem)), true);
        assert.match(String(cert.validityEndTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    });

    test("an ED25519 key comes in PKCS#8 PEM and in OpenSSH formats ssh-keygen reads", () => {
        const k = privateKeyOutputs("tls:index/privateKey:PrivateKey", "ssh", { algorithm: "ED25519" }) as Record<
            string,
            string
        >;
        assert.match(k.privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
        assert.match(k.publicKeyOpenssh, /^ssh-ed25519 [A-Za-z0-9+/]+=*\n$/);
        const dir = mkdtempSync(join(tmpdir(), "applier-ssh-"));
        try {
            writeFileSync(join(dir, "id"), k.privateKeyOpenssh, { mode: 0o600 });
            const derived = execFileSync("ssh-keygen", ["-y", "-f", join(dir, "id")], { encoding: "utf8" }).trim();
            assert.equal(derived, k.publicKeyOpenssh.trim());
            const fingerprint = execFileSync("ssh-keygen", ["-l", "-f", join(dir, "id")], { encoding: "utf8" });
            assert.ok(fingerprint.includes(k.publicKeyFingerprintSha256), fingerprint);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    test("an RSA key's privateKeyPem is PKCS#1, as the tls provider gives it", () => {
        const k = privateKeyOutputs("tls:index/privateKey:PrivateKey", "rsa", { algorithm: "RSA" }) as Record<
            string,
            string
        >;
        assert.match(k.privateKeyPem, /^-----BEGIN RSA PRIVATE KEY-----\n/);
        assert.match(k.privateKeyPemPkcs8, /^-----BEGIN PRIVATE KEY-----\n/);
        assert.match(k.publicKeyOpenssh, /^ssh-rsa /);
    });
});

describe("sandbox helpers", () => {
    test("Go durations become nanoseconds; anything else is refused", () => {
        assert.equal(goDurationNs("1m30s"), 90e9);
        assert.equal(goDurationNs("500ms"), 5e8);
        assert.equal(goDurationNs("2h"), 7200e9);
        assert.equal(goDurationNs("30"), undefined);
        assert.equal(goDurationNs("5 s"), undefined);
    });

    test("the scrubber masks secret values and the lines of a secret PEM", () => {
        const s = new Scrubber().add("hunter2-secret", "-----BEGIN X-----\nAAAABBBBCCCCDDDDEEEE\n-----END X-----");
        assert.equal(s.scrub("a hunter2-secret b AAAABBBBCCCCDDDDEEEE"), "a [secret] b [secret]");
        assert.deepEqual(s.scrubDeep({ k: ["x hunter2-secret"] }), { k: ["x [secret]"] });
    });

    test("in a secret env list, credentials are masked alone and plain entries only whole", () => {
        const secretList = {
            [specialSigKey]: specialSecretSig,
            value: [
                "DB_PASSWORD=s3cr3t-value",
                "DB_USER=counter",
                "DATABASE=postgres://counter:pw-in-url@db:5432/counter",
            ],
        };
        const s = new Scrubber().addSecretInputs({ envs: secretList });
        assert.equal(
            s.scrub("password s3cr3t-value, user counter, url postgres://counter:pw-in-url@db:5432/counter"),
            "password [secret], user counter, url [secret]",
        );
        assert.equal(s.scrub("DB_USER=counter"), "[secret]");
    });
});

/** Starts the engine when none answers, and makes the images the fixture needs. */
async function prepareEngine(): Promise<void> {
    await engineAndImages(["nginx:1.30"]); // the Host's edge runs the nginx stand-in
    execFileSync("bash", [join(__dirname, "fixtures", "busybox-image.sh"), BUSYBOX], { stdio: "inherit" });
}

describe("stack loading and refusals", () => {
    before(() => prepareEngine());
    after(async () => {
        await down(ODD, { log: false });
        await down(ODD, { stack: "sealed", log: false });
    });

    test("config comes from the template, the project, the stack file and --config, in that order", async () => {
        const s = await up(ODD, { config: { overridden: "cli" }, log: false });
        assert.deepEqual(s.outputs, {
            fromProject: "project-default",
            fromTemplate: "template-default",
            fromStack: "stack-file",
            overridden: "cli",
            namespaced: "namespaced",
            stack: "dev",
        });
        assert.equal(s.stack, "sandbox-odd/dev");
    });

    test("an encrypted stack config value is an error naming the key until it is given with --config, then it is secret", async () => {
        await assert.rejects(up(ODD, { stack: "sealed", log: false }), {
            message: `${ODD}/Pulumi.sealed.yaml: config "sandbox-odd:password" is encrypted and the sandbox cannot decrypt it; pass it with --config sandbox-odd:password=<value>`,
        });
        const s = await up(ODD, { stack: "sealed", config: { password: "open-sesame" }, log: false });
        assert.equal(s.outputs.password, "[secret]");
        assert.ok(!JSON.stringify(s).includes("open-sesame"));
    });

    test("a RemoteImage the engine does not have is an error naming the image and how to build stand-ins", async () => {
        await assert.rejects(
            up(ODD, { config: { case: "missing-image" }, log: false }),
            /^SandboxError: docker:index\/remoteImage:RemoteImage "absent": name "dropyard-sandbox\/absent:1" is not on the local engine and the sandbox cannot pull; build the stand-in images first \(bash sandbox\/images\/build\.sh\)/,
        );
    });

    test("a droplet of an image the simulated DigitalOcean API does not offer is an error before anything is made", async () => {
        await assert.rejects(up(ODD, { config: { case: "droplet" }, log: false }), {
            message:
                'digitalocean:index/droplet:Droplet "box": image "ubuntu-24-04-x64" is not offered by the sandbox\'s simulated API; its droplets are Debian 13 machines: use image "debian-13-x64" (the examples: config dropletImage)',
        });
    });

    test("a program that throws fails the up with its message, and the next up runs normally", async () => {
        await assert.rejects(up(ODD, { config: { case: "throws" }, log: false }), /the program says no/);
        const s = await up(ODD, { log: false });
        assert.equal(s.outputs.fromProject, "project-default");
    });

    test("a docker provider on TCP without mutual TLS is an error before anything is created", async () => {
        await assert.rejects(up(ODD, { config: { case: "tcp-host" }, log: false }), {
            message:
                'pulumi:providers:docker "engine": host "tcp://127.0.0.1:2376" is neither a unix:// socket nor tcp:// with mutual TLS (caMaterial, certMaterial, keyMaterial); use a unix:// socket (Host { local: true }) or a remote Host\'s provider (Host { server }), which carries them',
        });
        const state = statePath("sandbox-odd", "dev", ODD);
        assert.ok(!existsSync(state) || !readFileSync(state, "utf8").includes('"net"'));
    });
});

describe("the applier on the Docker engine (fixtures/web-stack)", () => {
    const markerDir = mkdtempSync(join(tmpdir(), "applier-markers-"));
    const base = { markerDir, dataDir: join(markerDir, "host-data") };
    const logs: string[] = [];
    const summaries: UpSummary[] = [];
    let first: UpSummary;

    const webContainer = () => theContainer(LABEL, "name=^web-");
    const tokenInContainer = async () =>
        (await inspect(await webContainer())).Config.Env.find(l => l.startsWith("TOKEN="))!.slice("TOKEN=".length);
    const fetchOnNetwork = (network: string) =>
        docker("run", "--rm", "--network", network, BUSYBOX, "wget", "-q", "-O", "-", "http://web:8080/");

    before(async () => {
        await prepareEngine();
        await down(WEB, { purge: true, log: false }); // leftovers of an interrupted run
    });
    after(async () => {
        await down(WEB, { purge: true, log: false });
        rmSync(markerDir, { recursive: true, force: true });
    });

    test("up creates every resource and the web container comes up healthy on its network", async () => {
        first = await up(WEB, { config: base, log: quiet(logs) });
        summaries.push(first);
        assert.ok(first.resources.length >= 12, JSON.stringify(first.resources));
        assert.deepEqual([...new Set(first.resources.map(r => r.action))], ["create"]);
        const web = first.containers.find(c => c.name === first.outputs.container)!;
        assert.equal(web.health, "healthy");
        assert.deepEqual(web.networks, ["dysbx-net"]);
        assert.match(web.ports[0], /^127\.0\.0\.1:\d+->8080\/tcp$/);
        assert.deepEqual(first.urls, ["http://web:8080/"]);
        assert.equal(statSync(statePath("sandbox-web", "dev", WEB)).mode & 0o777, 0o600);
    });

    test("the container answers HTTP over its docker network and on its loopback port", async () => {
        assert.equal(await fetchOnNetwork("dysbx-net"), "hello");
        const web = first.containers.find(c => c.name === first.outputs.container)!;
        const port = web.ports[0].match(/:(\d+)->/)![1];
        const res = await fetchVia({ host: "127.0.0.1", scheme: "http", port: Number(port) });
        assert.equal(res.status, 200);
        assert.equal(res.body.trim(), "hello");
    });

    const seenId = () => readFileSync(join(markerDir, "seen-id"), "utf8").trim();

    test("commands ran for real, and one command's output reached the command that uses it and the outputs", async () => {
        assert.equal(readFileSync(join(markerDir, "hello"), "utf8"), "hello\n");
        // A container's id is the engine's, as the provider gives it.
        assert.equal(seenId(), (await inspect(await webContainer())).Id);
        assert.equal(first.outputs.helloOut, "hello from create");
        assert.equal(first.outputs.echoed, "got:hello from create");
    });

    test("a second up with no change changes nothing and keeps the password", async () => {
        const token = await tokenInContainer();
        const containerId = await webContainer();
        const again = await up(WEB, { config: base, log: quiet(logs) });
        summaries.push(again);
        assert.deepEqual(
            again.resources.filter(r => r.action !== "same"),
            [],
        );
        assert.equal(again.resources.length, first.resources.length);
        assert.equal(again.outputs.tokenDigest, first.outputs.tokenDigest);
        assert.equal(await webContainer(), containerId);
        assert.equal(await tokenInContainer(), token);
        assert.equal(again.timings.passes, 1);
    });

    test("changing an env replaces the container create-before-delete: the new one is healthy before the old one goes", async () => {
        const token = await tokenInContainer();
        const since = Date.now();
        const changed = await up(WEB, { config: { ...base, greeting: "bonjour" }, log: quiet(logs) });
        summaries.push(changed);
        const until = Date.now() + 500;
        assert.deepEqual(
            changed.resources.filter(r => r.action !== "same").map(r => `${r.name}:${r.action}`),
            ["hello:update", "web:replace", "seen:update"],
        );
        assert.equal(seenId(), (await inspect(await webContainer())).Id);
        const [oldName, newName] = [String(first.outputs.container), String(changed.outputs.container)];
        assert.notEqual(newName, oldName);

        const events = await engineEvents(since, until, { label: [LABEL.slice("label=".length)], type: ["container"] });
        const at = (line: string) => events.indexOf(line);
        assert.ok(at(`${newName} health_status: healthy`) >= 0, events.join("\n"));
        assert.ok(at(`${oldName} destroy`) >= 0, events.join("\n"));
        const oldStops = events.findIndex(
            e => e === `${oldName} kill` || e === `${oldName} stop` || e === `${oldName} die`,
        );
        assert.ok(at(`${newName} health_status: healthy`) < oldStops, events.join("\n"));
        assert.equal(await fetchOnNetwork("dysbx-net"), "bonjour");
        assert.equal(await tokenInContainer(), token, "the password survives the replacement");
        assert.equal(
            readFileSync(join(markerDir, "hello"), "utf8"),
            "bonjour\n",
            "the command's create ran again (it has no update)",
        );
    });

    test("a network replaced delete-before-replace takes its container down first and brings it back", async () => {
        const [oldName, oldId] = [await webContainer(), seenId()];
        const s = await up(WEB, { config: { ...base, greeting: "bonjour", internal: "true" }, log: quiet(logs) });
        summaries.push(s);
        // The container is made again under its old name (its inputs did not change); what carries its id
        // runs again with the new one, in the pass after it was made.
        assert.deepEqual(
            s.resources.filter(r => r.action !== "same").map(r => `${r.name}:${r.action}`),
            ["dysbx-net-network:replace", "web:replace", "seen:update"],
        );
        assert.equal(await webContainer(), oldName);
        assert.notEqual(seenId(), oldId);
        assert.equal(seenId(), (await inspect(oldName)).Id);
        assert.equal(s.timings.passes, 2);
        assert.equal((await engine.docker.getNetwork("dysbx-net").inspect()).Internal, true);
        assert.equal(s.containers.find(c => c.name === s.outputs.container)!.health, "healthy");
        assert.equal(await fetchOnNetwork("dysbx-net"), "bonjour");
    });

    test("a field docker updates in place (restart) updates the container without replacing it", async () => {
        const cfg = { ...base, greeting: "bonjour", internal: "true" };
        const before = await webContainer();
        const changed = await up(WEB, { config: { ...cfg, restart: "always" }, log: quiet(logs) });
        summaries.push(changed);
        assert.deepEqual(
            changed.resources.filter(r => r.action !== "same").map(r => `${r.name}:${r.action}`),
            ["web:update"],
        );
        assert.equal(await webContainer(), before);
        assert.equal((await inspect(before)).HostConfig.RestartPolicy?.Name, "always");
        assert.equal(`/${changed.outputs.container}`, (await inspect(before)).Name, "the auto-name is kept");
        const back = await up(WEB, { config: cfg, log: quiet(logs) });
        assert.deepEqual(
            back.resources.filter(r => r.action !== "same").map(r => `${r.name}:${r.action}`),
            ["web:update"],
        );
        assert.equal((await inspect(before)).HostConfig.RestartPolicy?.Name, "unless-stopped");
    });

    test("an input field the applier does not support is an error naming type, resource and field; nothing changes", async () => {
        const before = await webContainer();
        await assert.rejects(
            up(WEB, {
                config: { ...base, greeting: "bonjour", internal: "true", unsupported: "true" },
                log: quiet(logs),
            }),
            /^SandboxError: docker:index\/container:Container "web": field "gpus" is not supported by the sandbox applier; remove it or add it to sandbox\/lib\/fields\.ts and map it/,
        );
        assert.equal(await webContainer(), before);
    });

    test("a failing command fails the up with its stderr (secrets masked) and what ran keeps running", async () => {
        const token = await tokenInContainer();
        const before = await webContainer();
        const err = await up(WEB, {
            config: { ...base, greeting: "bonjour", internal: "true", failCommand: "true" },
            log: quiet(logs),
        }).then(
            () => undefined,
            (e: Error) => e,
        );
        assert.ok(err instanceof Error);
        assert.equal(
            err.message,
            'command:local:Command "fails": create script failed (exit 3); fix the create script\n--- its stderr (last lines) ---\ntoken is [secret]\nboom',
        );
        assert.ok(!err.message.includes(token));
        assert.equal(await webContainer(), before);
        assert.equal(await fetchOnNetwork("dysbx-net"), "bonjour");
    });

    test("a replacement that never gets healthy fails the up with its logs, and the old container keeps serving", async () => {
        const cfg = { ...base, greeting: "bonjour", internal: "true" };
        const before = await webContainer();
        const err = await up(WEB, { config: { ...cfg, brokenHealth: "true" }, log: quiet(logs) }).then(
            () => undefined,
            (e: Error) => e,
        );
        assert.ok(err instanceof Error);
        assert.match(
            err.message,
            /^docker:index\/container:Container "web": wait is true and container "(web-[0-9a-f]{7})" is unhealthy; fix the healthcheck or the service, or raise waitTimeout\n--- last healthcheck output ---\nprobe says no\n--- last log lines of \1 ---\nserving bonjour$/,
        );
        assert.equal(await webContainer(), before, "the failed new container was removed, the old one is untouched");
        assert.equal(await fetchOnNetwork("dysbx-net"), "bonjour");
        const again = await up(WEB, { config: cfg, log: quiet(logs) });
        summaries.push(again);
        assert.deepEqual(
            again.resources.filter(r => r.action !== "same"),
            [],
            "the old container is still the one in the state",
        );
    });

    test("secrets never appear in a summary or a progress line", async () => {
        const token = await tokenInContainer();
        assert.ok(token.length >= 24);
        for (const s of summaries) {
            assert.equal(s.outputs.tokenPlain, "[secret]");
            assert.ok(!JSON.stringify(s).includes(token));
        }
        assert.ok(logs.length > 10);
        assert.ok(!logs.join("\n").includes(token));
    });

    test("down removes everything in reverse order but keeps the retained volume; down --purge removes that too", async () => {
        const d = await down(WEB, { log: quiet(logs) });
        assert.ok(d.resources.every(r => r.action === "delete"));
        assert.deepEqual(
            d.retained.map(r => r.name),
            ["data"],
        );
        assert.deepEqual(await containersWhere(LABEL), []);
        assert.equal(await exists(() => engine.docker.getNetwork("dysbx-net").inspect()), false);
        assert.equal(await exists(() => engine.docker.getContainer("dysbx-nginx").inspect()), false);
        assert.equal(existsSync(join(markerDir, "hello")), false, "the command's delete script ran");
        assert.equal((await labelledVolumes()).length, 1);

        const purged = await down(WEB, { purge: true, log: quiet(logs) });
        assert.deepEqual(
            purged.resources.map(r => `${r.name}:${r.action}`),
            ["data:delete"],
        );
        assert.deepEqual(await labelledVolumes(), []);
        assert.equal(existsSync(statePath("sandbox-web", "dev", WEB)), false);
    });
});
