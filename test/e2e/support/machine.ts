// Helpers for tests against sandbox machines: the Host's TLS material made as lib/host-tls.ts makes it (real
// keys and certificates, through the sandbox's tls values), SSH with ssh2 as @pulumi/command's remote.Command
// connects (a private key, a user, a command and its standard input), HTTPS to Docker's API, and the checks a
// django-postgres counter deployed onto a machine must pass.
import * as assert from "node:assert/strict";
import { generateKeyPairSync, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import * as https from "node:https";
import * as net from "node:net";
import { exec, ExecResult } from "../../../sandbox/lib/exec";
import { opensshValues } from "../../../sandbox/lib/openssh";
import { sshRun as sandboxSsh } from "../../../sandbox/lib/ssh";
import { CookieJar, fetchVia, Request } from "../../../sandbox/lib/http";
import {
    certRequestOutputs,
    locallySignedCertOutputs,
    privateKeyOutputs,
    selfSignedCertOutputs,
} from "../../../sandbox/lib/tls-values";

export interface SshKey {
    privateKey: string;
    publicKey: string;
}

/** An ED25519 key, as Host makes for a droplet. */
export function sshKey(): SshKey {
    const v = opensshValues(generateKeyPairSync("ed25519").privateKey);
    return { privateKey: v.privateKeyOpenssh, publicKey: v.publicKeyOpenssh.trim() };
}

export interface DockerTlsPems {
    caCertPem: string;
    serverCertPem: string;
    serverKeyPem: string;
    clientCertPem: string;
    clientKeyPem: string;
}

const KEY = "tls:index/privateKey:PrivateKey";
const CA = "tls:index/selfSignedCert:SelfSignedCert";
const CSR = "tls:index/certRequest:CertRequest";
const CERT = "tls:index/locallySignedCert:LocallySignedCert";

/** The inputs lib/host-tls.ts gives @pulumi/tls, made real: ECDSA P-256 keys, a CA, a server and a client cert. */
export async function makeDockerTls(name: string, ipAddresses: string[]): Promise<DockerTlsPems> {
    const key = () => privateKeyOutputs(KEY, name, { algorithm: "ECDSA", ecdsaCurve: "P256" }).privateKeyPem as string;
    const caKey = key();
    const ca = (
        await selfSignedCertOutputs(CA, name, {
            privateKeyPem: caKey,
            isCaCertificate: true,
            subject: { commonName: `dropyard ${name} CA`, organization: "dropyard" },
            allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
            validityPeriodHours: 10 * 365 * 24,
            // Go's crypto/x509 (so the real tls provider) gives a CA certificate a subject key id even when not asked;
            // the sandbox's openssl values only when asked, and openssl then cannot sign with authorityKeyIdentifier.
            setSubjectKeyId: true,
        })
    ).certPem as string;
    const leaf = async (role: string, extra: Record<string, unknown>, uses: string[]) => {
        const leafKey = key();
        const csr = (
            await certRequestOutputs(CSR, name, {
                privateKeyPem: leafKey,
                subject: { commonName: `dropyard ${name} ${role}`, organization: "dropyard" },
                ...extra,
            })
        ).certRequestPem as string;
        const cert = (
            await locallySignedCertOutputs(CERT, name, {
                certRequestPem: csr,
                caPrivateKeyPem: caKey,
                caCertPem: ca,
                allowedUses: ["digital_signature", "key_encipherment", ...uses],
                validityPeriodHours: 5 * 365 * 24,
            })
        ).certPem as string;
        return { cert, key: leafKey };
    };
    const server = await leaf("server", { ipAddresses: [...ipAddresses, "127.0.0.1"], dnsNames: [] }, ["server_auth"]);
    const client = await leaf("client", {}, ["client_auth"]);
    return {
        caCertPem: ca,
        serverCertPem: server.cert,
        serverKeyPem: server.key,
        clientCertPem: client.cert,
        clientKeyPem: client.key,
    };
}

/** Runs one command over SSH with `stdin` on its standard input, as remote.Command does (the sandbox's runner). */
export function sshRun(
    host: string,
    user: string,
    privateKey: string,
    command: string,
    stdin: string,
    timeoutMs: number,
): Promise<ExecResult> {
    return sandboxSsh({ host, user, privateKey, dialErrorLimit: 3, perDialTimeout: 30 }, command, stdin, { timeoutMs });
}

/** GET https://host:port/path, resolving with the status and body, rejecting on any TLS or socket error. */
export function httpsGet(
    host: string,
    port: number,
    path: string,
    tls: { ca: string; cert?: string; key?: string },
    timeoutMs = 15_000,
): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const options = {
            host,
            port,
            path,
            ca: tls.ca,
            cert: tls.cert,
            key: tls.key,
            agent: false,
            timeout: timeoutMs,
        };
        const req = https.get(options, res => {
            let body = "";
            res.on("data", (d: Buffer) => {
                body += d.toString("utf8");
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
            res.on("error", reject);
        });
        req.on("timeout", () => req.destroy(new Error(`https://${host}:${port}${path} timed out`)));
        req.on("error", reject);
    });
}

/** Whether a TCP connection to host:port is accepted (false when refused; rejects when nothing answers in time). */
export function tcpOpen(host: string, port: number, timeoutMs = 10_000): Promise<boolean> {
    return new Promise((resolve, reject) => {
        const s = net.connect({ host, port });
        const timer = setTimeout(() => {
            s.destroy();
            reject(new Error(`${host}:${port}: no answer within ${timeoutMs / 1000}s`));
        }, timeoutMs);
        s.on("connect", () => {
            clearTimeout(timer);
            s.destroy();
            resolve(true);
        });
        s.on("error", (e: NodeJS.ErrnoException) => {
            clearTimeout(timer);
            if (e.code === "ECONNREFUSED") resolve(false);
            else reject(e);
        });
    });
}

/** What examples/django-postgres pulls or builds FROM on a machine: the registry mirror must hold them. */
export const COUNTER_IMAGES = ["postgres:17", "nginx:1.30", "python:3.13-slim", "certbot/certbot:v4.0.0"];

/** Where a deployed counter lives: the machine's container (for looking inside), its address, the site's name. */
export interface CounterSite {
    readonly container: string;
    readonly address: string;
    readonly domain: string;
    /** PEM of the root the site's certificate must lead to (Pebble's). */
    readonly root: string;
    /** The sandbox state file of the stack. */
    readonly stateFile: string;
}

/** Runs a command inside a machine (docker exec), for looking: the machine's own docker command, say. */
export async function inMachine(container: string, args: string[]): Promise<ExecResult> {
    return exec("docker", ["exec", container, ...args], { timeoutMs: 60_000 });
}

/** SQL in the counter's Postgres on the machine, through the machine's own docker command. */
export async function counterSql(container: string, sql: string): Promise<string> {
    const r = await inMachine(container, [
        "docker",
        "exec",
        "counter-db",
        "psql",
        "-U",
        "app",
        "-d",
        "counter",
        "-tAc",
        sql,
    ]);
    if (r.code !== 0) throw new Error(`psql on ${container}: ${r.stderr}`);
    return r.stdout.trim();
}

/**
 * The checks every counter deployed onto a machine must pass (registered as tests of the calling suite): https
 * through the machine's edge with a certificate Pebble issued, certbot's files on the machine, a POST that
 * increments the count in the machine's Postgres, the release step's migrations, images pulled through the mirror.
 */
export function counterTests(site: () => CounterSite): void {
    const get = (extra: Partial<Request> = {}) =>
        fetchVia({ host: site().domain, address: site().address, ca: site().root, ...extra });
    const count = async () =>
        Number(
            await counterSql(
                site().container,
                "SELECT COALESCE((SELECT value FROM counter_counter WHERE name = 'clicks'), 0)",
            ),
        );

    test("the counter answers over https through the machine's edge, with a certificate Pebble issued", async () => {
        const r = await get(); // rejects unless the chain leads to Pebble's root
        assert.equal(r.status, 200, r.body.slice(0, 300));
        assert.match(r.body, /<h1>Counter<\/h1>/);
        assert.ok(new X509Certificate(r.certificate!.raw).subjectAltName?.includes(`DNS:${site().domain}`));
        assert.equal((await get({ scheme: "http", ca: undefined })).status, 301);
        const live = await inMachine(site().container, [
            "test",
            "-s",
            `/var/lib/dropyard/letsencrypt/live/${site().domain}/fullchain.pem`,
        ]);
        assert.equal(live.code, 0, "certbot's certificate is in the Host's data directory on the machine");
    });

    test("a POST increments the counter, and the machine's Postgres holds the new value", async () => {
        const jar = new CookieJar();
        const page = await get({ jar });
        const csrf = /name="csrfmiddlewaretoken" value="([^"]+)"/.exec(page.body)?.[1];
        assert.ok(csrf, page.body.slice(0, 300));
        const before = await count();
        const origin = `https://${site().domain}`;
        const post = await get({
            jar,
            form: { csrfmiddlewaretoken: csrf },
            headers: { origin, referer: `${origin}/` },
        });
        assert.equal(post.status, 302, post.body.slice(0, 300));
        assert.equal(await count(), before + 1);
    });

    test("the release step ran the migrations on the machine, over SSH", async () => {
        assert.match(
            await counterSql(site().container, "SELECT name FROM django_migrations WHERE app = 'counter'"),
            /^0001_initial$/m,
        );
        type Entry = { type: string; name: string; condemned?: boolean; outputs: { stdout?: string } };
        const state = JSON.parse(readFileSync(site().stateFile, "utf8")) as { resources: Entry[] };
        const release = state.resources.find(r => r.name === "counter-release" && !r.condemned);
        assert.equal(release?.type, "command:remote:Command");
        assert.match(String(release?.outputs.stdout), /Applying counter\.0001_initial\.\.\. OK/);
    });

    test("the containers run on the machine, from images pulled through its registry mirror", async () => {
        const ps = await inMachine(site().container, ["docker", "ps", "--format", "{{.Names}}"]);
        assert.match(ps.stdout, /^counter-db$/m);
        assert.match(ps.stdout, /^counter-host-nginx$/m);
        const pulled = await inMachine(site().container, [
            "docker",
            "image",
            "inspect",
            "-f",
            "{{index .RepoDigests 0}}",
            "postgres:17",
        ]);
        assert.equal(pulled.code, 0, pulled.stderr);
        assert.match(pulled.stdout, /^postgres@sha256:/, "pulled from a registry (a digest), not loaded");
    });
}
