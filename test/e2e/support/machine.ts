// Helpers for tests against sandbox machines: the Host's TLS material made as lib/host-tls.ts makes it (real
// keys and certificates, through the sandbox's tls values), SSH with ssh2 as @pulumi/command's remote.Command
// connects (a private key, a user, a command and its standard input), and HTTPS to Docker's API.
import { generateKeyPairSync } from "node:crypto";
import * as https from "node:https";
import * as net from "node:net";
import { Client } from "ssh2";
import { opensshValues } from "../../../sandbox/lib/openssh";
import { certRequestOutputs, locallySignedCertOutputs, privateKeyOutputs, selfSignedCertOutputs } from "../../../sandbox/lib/tls-values";

export interface SshKey { privateKey: string; publicKey: string }

/** An ED25519 key, as Host makes for a droplet. */
export function sshKey(): SshKey {
    const v = opensshValues(generateKeyPairSync("ed25519").privateKey);
    return { privateKey: v.privateKeyOpenssh, publicKey: v.publicKeyOpenssh.trim() };
}

export interface DockerTlsPems {
    caCertPem: string; serverCertPem: string; serverKeyPem: string; clientCertPem: string; clientKeyPem: string;
}

const KEY = "tls:index/privateKey:PrivateKey";
const CA = "tls:index/selfSignedCert:SelfSignedCert";
const CSR = "tls:index/certRequest:CertRequest";
const CERT = "tls:index/locallySignedCert:LocallySignedCert";

/** The inputs lib/host-tls.ts gives @pulumi/tls, made real: ECDSA P-256 keys, a CA, a server and a client cert. */
export async function makeDockerTls(name: string, ipAddresses: string[]): Promise<DockerTlsPems> {
    const key = () => privateKeyOutputs(KEY, name, { algorithm: "ECDSA", ecdsaCurve: "P256" }).privateKeyPem as string;
    const caKey = key();
    const ca = (await selfSignedCertOutputs(CA, name, {
        privateKeyPem: caKey, isCaCertificate: true, subject: { commonName: `dropyard ${name} CA`, organization: "dropyard" },
        allowedUses: ["cert_signing", "crl_signing", "digital_signature"], validityPeriodHours: 10 * 365 * 24,
        // Go's crypto/x509 (so the real tls provider) gives a CA certificate a subject key id even when not asked;
        // the sandbox's openssl values only when asked, and openssl then cannot sign with authorityKeyIdentifier.
        setSubjectKeyId: true,
    })).certPem as string;
    const leaf = async (role: string, extra: Record<string, unknown>, uses: string[]) => {
        const leafKey = key();
        const csr = (await certRequestOutputs(CSR, name, {
            privateKeyPem: leafKey, subject: { commonName: `dropyard ${name} ${role}`, organization: "dropyard" }, ...extra,
        })).certRequestPem as string;
        const cert = (await locallySignedCertOutputs(CERT, name, {
            certRequestPem: csr, caPrivateKeyPem: caKey, caCertPem: ca,
            allowedUses: ["digital_signature", "key_encipherment", ...uses], validityPeriodHours: 5 * 365 * 24,
        })).certPem as string;
        return { cert, key: leafKey };
    };
    const server = await leaf("server", { ipAddresses: [...ipAddresses, "127.0.0.1"], dnsNames: [] }, ["server_auth"]);
    const client = await leaf("client", {}, ["client_auth"]);
    return {
        caCertPem: ca, serverCertPem: server.cert, serverKeyPem: server.key,
        clientCertPem: client.cert, clientKeyPem: client.key,
    };
}

export interface SshResult { code: number | null; signal?: string; stdout: string; stderr: string }

/** Runs one command over SSH with `stdin` on its standard input, as remote.Command does; bounded in time. */
export function sshRun(host: string, user: string, privateKey: string, command: string, stdin: string,
    timeoutMs: number): Promise<SshResult> {
    return new Promise((resolve, reject) => {
        const conn = new Client();
        const timer = setTimeout(() => { conn.end(); reject(new Error(`ssh ${user}@${host} "${command}" took over ${timeoutMs / 1000}s`)); }, timeoutMs);
        const fail = (e: Error) => { clearTimeout(timer); conn.end(); reject(e); };
        conn.on("error", fail);
        conn.on("ready", () => {
            conn.exec(command, (err, stream) => {
                if (err) return fail(err);
                let stdout = "", stderr = "";
                stream.on("data", (d: Buffer) => { stdout += d.toString("utf8"); });
                stream.stderr.on("data", (d: Buffer) => { stderr += d.toString("utf8"); });
                stream.on("close", (code: number | null, signal?: string) => {
                    clearTimeout(timer);
                    conn.end();
                    resolve({ code, signal, stdout, stderr });
                });
                stream.end(stdin);
            });
        });
        conn.connect({ host, port: 22, username: user, privateKey, readyTimeout: 30_000 });
    });
}

/** GET https://host:port/path, resolving with the status and body, rejecting on any TLS or socket error. */
export function httpsGet(host: string, port: number, path: string, tls: { ca: string; cert?: string; key?: string },
    timeoutMs = 15_000): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const options = { host, port, path, ca: tls.ca, cert: tls.cert, key: tls.key, agent: false,
            timeout: timeoutMs };
        const req = https.get(options, res => {
            let body = "";
            res.on("data", (d: Buffer) => { body += d.toString("utf8"); });
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
        const timer = setTimeout(() => { s.destroy(); reject(new Error(`${host}:${port}: no answer within ${timeoutMs / 1000}s`)); }, timeoutMs);
        s.on("connect", () => { clearTimeout(timer); s.destroy(); resolve(true); });
        s.on("error", (e: NodeJS.ErrnoException) => {
            clearTimeout(timer);
            if (e.code === "ECONNREFUSED") resolve(false); else reject(e);
        });
    });
}

/** Retries `fn` until it resolves, for at most `timeoutMs`; the last error is in the failure. */
export async function until<T>(what: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
        try { return await fn(); } catch (e) { last = e; }
        await new Promise(r => setTimeout(r, 1000));
    }
    throw new Error(`${what}: not within ${timeoutMs / 1000}s: ${last instanceof Error ? last.message : String(last)}`);
}
