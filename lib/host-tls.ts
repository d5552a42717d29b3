// The mutual-TLS material for a host's Docker API, made the way docker-machine made it: a CA of
// the host's own, a server certificate for the daemon and a client certificate for Pulumi's Docker
// provider, all signed by that CA. Everything lives in Pulumi state; private keys stay secret.
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";

/** Ten years for the CA, five for the leaves; leaves are renewed by the first `up` in their last 30 days. */
const CA_HOURS = 10 * 365 * 24;
const LEAF_HOURS = 5 * 365 * 24;
const EARLY_RENEWAL_HOURS = 30 * 24;

export interface DockerTlsNames {
    /** IP addresses the daemon is reached at; 127.0.0.1 is added for the bootstrap's own check. */
    readonly ipAddresses: pulumi.Input<string>[];
    /** DNS names the daemon is reached at. */
    readonly dnsNames: string[];
}

export interface DockerTls {
    readonly caCertPem: pulumi.Output<string>;
    readonly serverCertPem: pulumi.Output<string>;
    readonly serverKeyPem: pulumi.Output<string>;
    readonly clientCertPem: pulumi.Output<string>;
    readonly clientKeyPem: pulumi.Output<string>;
}

/** Creates `${name}-ca-key`, `${name}-ca`, and a key, request and certificate for `server` and `client`. */
export function createDockerTls(name: string, names: DockerTlsNames, parent: pulumi.Resource): DockerTls {
    const opts = { parent };
    const key = (role: string) =>
        new tls.PrivateKey(`${name}-${role}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, opts);
    const caKey = key("ca");
    const ca = new tls.SelfSignedCert(
        `${name}-ca`,
        {
            privateKeyPem: caKey.privateKeyPem,
            isCaCertificate: true,
            subject: { commonName: `dropyard ${name} CA`, organization: "dropyard" },
            allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
            validityPeriodHours: CA_HOURS,
        },
        opts,
    );

    const leaf = (
        role: "server" | "client",
        extra: Pick<tls.CertRequestArgs, "ipAddresses" | "dnsNames">,
        uses: string[],
    ) => {
        const leafKey = key(role);
        const csr = new tls.CertRequest(
            `${name}-${role}-csr`,
            {
                privateKeyPem: leafKey.privateKeyPem,
                subject: { commonName: `dropyard ${name} ${role}`, organization: "dropyard" },
                ...extra,
            },
            opts,
        );
        const cert = new tls.LocallySignedCert(
            `${name}-${role}-cert`,
            {
                certRequestPem: csr.certRequestPem,
                caPrivateKeyPem: caKey.privateKeyPem,
                caCertPem: ca.certPem,
                allowedUses: ["digital_signature", "key_encipherment", ...uses],
                validityPeriodHours: LEAF_HOURS,
                earlyRenewalHours: EARLY_RENEWAL_HOURS,
            },
            opts,
        );
        // Marked secret here too: under some engines (and in tests) additionalSecretOutputs is not applied.
        return { certPem: cert.certPem, keyPem: pulumi.secret(leafKey.privateKeyPem) };
    };
    const server = leaf("server", { ipAddresses: [...names.ipAddresses, "127.0.0.1"], dnsNames: names.dnsNames }, [
        "server_auth",
    ]);
    const client = leaf("client", {}, ["client_auth"]);
    return {
        caCertPem: ca.certPem,
        serverCertPem: server.certPem,
        serverKeyPem: server.keyPem,
        clientCertPem: client.certPem,
        clientKeyPem: client.keyPem,
    };
}
