// Real keys (node:crypto) and real X.509 certificates (the `openssl` CLI) for @pulumi/tls resources,
// honouring subject, SANs, CA flag, allowed uses and validity the way the tls provider does.
import {
    createPrivateKey,
    createPublicKey,
    generateKeyPairSync,
    KeyObject,
    randomBytes,
    X509Certificate,
} from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resourceError } from "./errors";
import { exec } from "./exec";
import { opensshValues } from "./openssh";

type Inputs = Record<string, any>;

const EC_CURVES: Record<string, string> = {
    P224: "secp224r1",
    P256: "prime256v1",
    P384: "secp384r1",
    P521: "secp521r1",
};

export function privateKeyOutputs(type: string, name: string, i: Inputs): Record<string, unknown> {
    const algorithm = i.algorithm;
    let key: KeyObject;
    if (algorithm === "RSA") {
        key = generateKeyPairSync("rsa", { modulusLength: i.rsaBits ?? 2048 }).privateKey;
    } else if (algorithm === "ECDSA") {
        const curve = EC_CURVES[i.ecdsaCurve ?? "P224"];
        if (!curve)
            throw resourceError(
                type,
                name,
                "ecdsaCurve",
                `"${i.ecdsaCurve}" is not supported`,
                `use one of ${Object.keys(EC_CURVES).join(", ")}`,
            );
        key = generateKeyPairSync("ec", { namedCurve: curve }).privateKey;
    } else if (algorithm === "ED25519") {
        key = generateKeyPairSync("ed25519").privateKey;
    } else {
        throw resourceError(type, name, "algorithm", `"${algorithm}" is not supported`, "use RSA, ECDSA or ED25519");
    }
    // The provider's privateKeyPem is PKCS#1 for RSA, SEC1 for ECDSA and PKCS#8 for ED25519.
    const pem =
        algorithm === "RSA"
            ? key.export({ format: "pem", type: "pkcs1" })
            : algorithm === "ECDSA"
              ? key.export({ format: "pem", type: "sec1" })
              : key.export({ format: "pem", type: "pkcs8" });
    return {
        algorithm,
        ecdsaCurve: i.ecdsaCurve ?? "P224",
        rsaBits: i.rsaBits ?? 2048,
        privateKeyPem: String(pem),
        privateKeyPemPkcs8: String(key.export({ format: "pem", type: "pkcs8" })),
        publicKeyPem: String(createPublicKey(key).export({ format: "pem", type: "spki" })),
        ...opensshValues(key),
    };
}

/** The tls provider's names for key usages and extended key usages, in OpenSSL's spelling. */
const KEY_USAGE: Record<string, string> = {
    digital_signature: "digitalSignature",
    content_commitment: "nonRepudiation",
    key_encipherment: "keyEncipherment",
    data_encipherment: "dataEncipherment",
    key_agreement: "keyAgreement",
    cert_signing: "keyCertSign",
    crl_signing: "cRLSign",
    encipher_only: "encipherOnly",
    decipher_only: "decipherOnly",
};
const EXT_KEY_USAGE: Record<string, string> = {
    any_extended: "anyExtendedKeyUsage",
    server_auth: "serverAuth",
    client_auth: "clientAuth",
    code_signing: "codeSigning",
    email_protection: "emailProtection",
    ipsec_end_system: "ipsecEndSystem",
    ipsec_tunnel: "ipsecTunnel",
    ipsec_user: "ipsecUser",
    timestamping: "timeStamping",
    ocsp_signing: "OCSPSigning",
    microsoft_server_gated_crypto: "msSGC",
    netscape_server_gated_crypto: "nsSGC",
};

/** Subject fields in the order Go's crypto/x509 writes them. */
const SUBJECT: [string, string][] = [
    ["country", "C"],
    ["province", "ST"],
    ["locality", "L"],
    ["streetAddresses", "street"],
    ["postalCode", "postalCode"],
    ["organization", "O"],
    ["organizationalUnit", "OU"],
    ["commonName", "CN"],
    ["serialNumber", "serialNumber"],
    ["emailAddress", "emailAddress"],
];

function subjectArg(subject: Inputs | undefined): string {
    const esc = (v: string) => v.replace(/[\\/+=]/g, c => `\\${c}`);
    const parts: string[] = [];
    for (const [field, short] of SUBJECT) {
        const v = subject?.[field];
        const values = Array.isArray(v) ? v : v === undefined || v === "" ? [] : [v];
        for (const value of values) parts.push(`/${short}=${esc(String(value))}`);
    }
    return parts.length ? parts.join("") : "/";
}

function sanLine(i: Inputs): string | undefined {
    const names = [
        ...(i.dnsNames ?? []).map((d: string) => `DNS:${d}`),
        ...(i.ipAddresses ?? []).map((a: string) => `IP:${a}`),
        ...(i.uris ?? []).map((u: string) => `URI:${u}`),
    ];
    return names.length ? `subjectAltName = ${names.join(", ")}` : undefined;
}

/** The `[ext]` section: what the provider puts in a certificate it signs. */
function certExtensions(type: string, name: string, i: Inputs, withSan: boolean, authorityKeyId: boolean): string {
    const uses: string[] = i.allowedUses ?? [];
    const bad = uses.filter(u => !KEY_USAGE[u] && !EXT_KEY_USAGE[u]);
    if (bad.length)
        throw resourceError(
            type,
            name,
            "allowedUses",
            `has unknown use "${bad[0]}"`,
            `use any of ${[...Object.keys(KEY_USAGE), ...Object.keys(EXT_KEY_USAGE)].join(", ")}`,
        );
    const ku = uses.filter(u => KEY_USAGE[u]).map(u => KEY_USAGE[u]);
    const eku = uses.filter(u => EXT_KEY_USAGE[u]).map(u => EXT_KEY_USAGE[u]);
    const ca = i.isCaCertificate === true;
    const pathLen =
        ca && Number.isInteger(i.maxPathLength) && i.maxPathLength >= 0 ? `, pathlen:${i.maxPathLength}` : "";
    const lines = [
        `basicConstraints = critical, CA:${ca ? "TRUE" : "FALSE"}${pathLen}`,
        ku.length ? `keyUsage = critical, ${ku.join(", ")}` : undefined,
        eku.length ? `extendedKeyUsage = ${eku.join(", ")}` : undefined,
        withSan ? sanLine(i) : undefined,
        // Go's crypto/x509 (so the real provider) gives every CA certificate a subject key id, asked or not;
        // without one openssl cannot sign a leaf under it with an authority key id.
        `subjectKeyIdentifier = ${i.setSubjectKeyId || ca ? "hash" : "none"}`,
        `authorityKeyIdentifier = ${authorityKeyId ? "keyid" : "none"}`,
    ];
    return lines.filter(Boolean).join("\n");
}

function days(type: string, name: string, hours: unknown): string {
    if (!Number.isInteger(hours) || (hours as number) < 1)
        throw resourceError(
            type,
            name,
            "validityPeriodHours",
            `${hours} is not a positive whole number`,
            "give the validity in hours, e.g. 8760",
        );
    // openssl 3.0 takes whole days; the certificate is valid for at least the hours asked for.
    return String(Math.ceil((hours as number) / 24));
}

function serial(): string {
    const b = randomBytes(16);
    b[0] &= 0x7f; // positive
    return "0x" + b.toString("hex");
}

/** Runs openssl in a private temporary directory holding `files` (keys are written 0600, removed after). */
async function openssl(
    type: string,
    name: string,
    args: string[],
    files: Record<string, string>,
): Promise<{ dir: string; out: string }> {
    const dir = mkdtempSync(join(tmpdir(), "dropyard-tls-"));
    try {
        for (const [f, content] of Object.entries(files)) writeFileSync(join(dir, f), content, { mode: 0o600 });
        const r = await exec("openssl", args, { cwd: dir });
        if (r.code !== 0)
            throw resourceError(
                type,
                name,
                "inputs",
                `were refused by openssl: ${r.stderr.trim().split("\n").slice(0, 3).join(" / ")}`,
                "check subject, SANs and keys",
            );
        return { dir, out: r.stdout };
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

function digestArgs(keyPem: string): string[] {
    const t = createPrivateKey(keyPem).asymmetricKeyType;
    return t === "ed25519" || t === "ed448" ? [] : ["-sha256"];
}

function keyAlgorithm(keyPem: string): string {
    const t = createPrivateKey(keyPem).asymmetricKeyType;
    return t === "rsa" ? "RSA" : t === "ec" ? "ECDSA" : "ED25519";
}

function validity(certPem: string): Record<string, unknown> {
    const c = new X509Certificate(certPem);
    const rfc3339 = (s: string) => new Date(s).toISOString().replace(/\.\d{3}Z$/, "Z");
    return { validityStartTime: rfc3339(c.validFrom), validityEndTime: rfc3339(c.validTo), readyForRenewal: false };
}

function requirePem(type: string, name: string, field: string, v: unknown): string {
    if (typeof v !== "string" || !v.includes("-----BEGIN"))
        throw resourceError(type, name, field, "is not a PEM block", `pass e.g. a tls.PrivateKey's privateKeyPem`);
    return v;
}

export async function selfSignedCertOutputs(type: string, name: string, i: Inputs): Promise<Record<string, unknown>> {
    const key = requirePem(type, name, "privateKeyPem", i.privateKeyPem);
    const config = `[req]\ndistinguished_name = dn\nx509_extensions = ext\n[dn]\n[ext]\n${certExtensions(
        type,
        name,
        i,
        true,
        i.setAuthorityKeyId === true,
    )}\n`;
    const { out } = await openssl(
        type,
        name,
        [
            "req",
            "-new",
            "-x509",
            "-utf8",
            "-config",
            "req.cnf",
            "-key",
            "key.pem",
            "-subj",
            subjectArg(i.subject),
            "-days",
            days(type, name, i.validityPeriodHours),
            "-set_serial",
            serial(),
            ...digestArgs(key),
        ],
        { "req.cnf": config, "key.pem": key },
    );
    return { certPem: out, keyAlgorithm: keyAlgorithm(key), ...validity(out) };
}

export async function certRequestOutputs(type: string, name: string, i: Inputs): Promise<Record<string, unknown>> {
    const key = requirePem(type, name, "privateKeyPem", i.privateKeyPem);
    const san = sanLine(i);
    const config = `[req]\ndistinguished_name = dn\n${san ? "req_extensions = ext\n" : ""}[dn]\n[ext]\n${san ?? ""}\n`;
    const { out } = await openssl(
        type,
        name,
        [
            "req",
            "-new",
            "-utf8",
            "-config",
            "req.cnf",
            "-key",
            "key.pem",
            "-subj",
            subjectArg(i.subject),
            ...digestArgs(key),
        ],
        { "req.cnf": config, "key.pem": key },
    );
    return { certRequestPem: out, keyAlgorithm: keyAlgorithm(key) };
}

export async function locallySignedCertOutputs(
    type: string,
    name: string,
    i: Inputs,
): Promise<Record<string, unknown>> {
    const caKey = requirePem(type, name, "caPrivateKeyPem", i.caPrivateKeyPem);
    const caCert = requirePem(type, name, "caCertPem", i.caCertPem);
    const csr = requirePem(type, name, "certRequestPem", i.certRequestPem);
    // SANs come from the request (`-copy_extensions copy`), the rest from the resource's own inputs;
    // the authority key id is the CA's subject key id when it has one, as Go's crypto/x509 does.
    const ext = certExtensions(type, name, i, false, true);
    const { out } = await openssl(
        type,
        name,
        [
            "x509",
            "-req",
            "-in",
            "req.pem",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-set_serial",
            serial(),
            "-days",
            days(type, name, i.validityPeriodHours),
            "-extfile",
            "ext.cnf",
            "-extensions",
            "ext",
            "-copy_extensions",
            "copy",
            ...digestArgs(caKey),
        ],
        { "req.pem": csr, "ca.pem": caCert, "ca-key.pem": caKey, "ext.cnf": `[ext]\n${ext}\n` },
    );
    return { certPem: out, caKeyAlgorithm: keyAlgorithm(caKey), ...validity(out) };
}
