// OpenSSH encodings of node:crypto keys, as the tls provider outputs them: the one-line public key,
// its MD5/SHA256 fingerprints, and the `openssh-key-v1` private key format (unencrypted).
import { createHash, KeyObject, randomBytes } from "node:crypto";

/** The SSH wire format: length-prefixed strings, big-endian uint32, mpints. */
function u32(n: number): Buffer {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0);
    return b;
}
function str(v: Buffer | string): Buffer {
    const b = typeof v === "string" ? Buffer.from(v) : v;
    return Buffer.concat([u32(b.length), b]);
}
function mpint(unsigned: Buffer): Buffer {
    let i = 0;
    while (i < unsigned.length - 1 && unsigned[i] === 0) i++;
    let b = unsigned.subarray(i);
    if (b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
    return str(b);
}
const b64u = (s: string) => Buffer.from(s, "base64url");

const CURVES: Record<string, string> = { "P-256": "nistp256", "P-384": "nistp384", "P-521": "nistp521" };

interface SshKey {
    type: string;
    publicBlob: Buffer;
    privatePart: Buffer;
}

/** `undefined` for keys OpenSSH cannot hold (ECDSA P-224), as the provider leaves those empty. */
function sshKey(privateKey: KeyObject): SshKey | undefined {
    const curve = privateKey.asymmetricKeyDetails?.namedCurve;
    if (
        privateKey.asymmetricKeyType === "ec" &&
        curve !== "prime256v1" &&
        curve !== "secp384r1" &&
        curve !== "secp521r1"
    )
        return undefined;
    const jwk = privateKey.export({ format: "jwk" }) as Record<string, string>;
    if (jwk.kty === "OKP" && jwk.crv === "Ed25519") {
        const pub = b64u(jwk.x);
        const type = "ssh-ed25519";
        return {
            type,
            publicBlob: Buffer.concat([str(type), str(pub)]),
            privatePart: Buffer.concat([str(type), str(pub), str(Buffer.concat([b64u(jwk.d), pub]))]),
        };
    }
    if (jwk.kty === "RSA") {
        const type = "ssh-rsa";
        return {
            type,
            publicBlob: Buffer.concat([str(type), mpint(b64u(jwk.e)), mpint(b64u(jwk.n))]),
            privatePart: Buffer.concat([
                str(type),
                mpint(b64u(jwk.n)),
                mpint(b64u(jwk.e)),
                mpint(b64u(jwk.d)),
                mpint(b64u(jwk.qi)),
                mpint(b64u(jwk.p)),
                mpint(b64u(jwk.q)),
            ]),
        };
    }
    if (jwk.kty === "EC" && CURVES[jwk.crv]) {
        const curve = CURVES[jwk.crv];
        const type = `ecdsa-sha2-${curve}`;
        const q = Buffer.concat([Buffer.from([4]), b64u(jwk.x), b64u(jwk.y)]);
        return {
            type,
            publicBlob: Buffer.concat([str(type), str(curve), str(q)]),
            privatePart: Buffer.concat([str(type), str(curve), str(q), mpint(b64u(jwk.d))]),
        };
    }
    return undefined;
}

export interface OpensshValues {
    publicKeyOpenssh: string;
    privateKeyOpenssh: string;
    publicKeyFingerprintMd5: string;
    publicKeyFingerprintSha256: string;
}

export function opensshValues(privateKey: KeyObject): OpensshValues {
    const key = sshKey(privateKey);
    if (!key) {
        return {
            publicKeyOpenssh: "",
            privateKeyOpenssh: "",
            publicKeyFingerprintMd5: "",
            publicKeyFingerprintSha256: "",
        };
    }
    const check = randomBytes(4);
    let priv = Buffer.concat([check, check, key.privatePart, str("")]);
    const pad: number[] = [];
    for (let i = 1; (priv.length + pad.length) % 8 !== 0; i++) pad.push(i);
    priv = Buffer.concat([priv, Buffer.from(pad)]);
    const body = Buffer.concat([
        Buffer.from("openssh-key-v1\0"),
        str("none"),
        str("none"),
        str(""),
        u32(1),
        str(key.publicBlob),
        str(priv),
    ]).toString("base64");
    const lines = body.match(/.{1,70}/g)!.join("\n");
    return {
        publicKeyOpenssh: `${key.type} ${key.publicBlob.toString("base64")}\n`,
        privateKeyOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines}\n-----END OPENSSH PRIVATE KEY-----\n`,
        publicKeyFingerprintMd5: createHash("md5").update(key.publicBlob).digest("hex").match(/../g)!.join(":"),
        publicKeyFingerprintSha256:
            "SHA256:" + createHash("sha256").update(key.publicBlob).digest("base64").replace(/=+$/, ""),
    };
}
