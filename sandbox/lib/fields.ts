// THE LIST: every input field the sandbox applier supports, per resource type. A field not listed
// here is an error naming the type, the resource and the field, never silently dropped. To support
// a field, add it here AND map it where the type is applied (container-args.ts, resources.ts, ...).
import { resourceError } from "./errors";

/**
 * `true`: any value (scalars, lists of scalars, maps). An object: the sub-fields of an object or of each list element.
 */
export type FieldSpec = true | { readonly [field: string]: FieldSpec };

const labels = { label: true, value: true } as const;

export const SUPPORTED: Readonly<Record<string, { readonly [field: string]: FieldSpec }>> = {
    "docker:index/container:Container": {
        image: true,
        name: true,
        command: true,
        entrypoints: true,
        envs: true,
        labels,
        hostname: true,
        domainname: true,
        user: true,
        workingDir: true,
        restart: true,
        maxRetryCount: true,
        networksAdvanced: { name: true, aliases: true, ipv4Address: true, ipv6Address: true },
        networkMode: true,
        ports: { internal: true, external: true, ip: true, protocol: true },
        mounts: {
            type: true,
            source: true,
            target: true,
            readOnly: true,
            bindOptions: { propagation: true },
            tmpfsOptions: { sizeBytes: true, mode: true },
        },
        volumes: { volumeName: true, hostPath: true, containerPath: true, readOnly: true, fromContainer: true },
        healthcheck: {
            tests: true,
            interval: true,
            timeout: true,
            retries: true,
            startPeriod: true,
            startInterval: true,
        },
        logDriver: true,
        logOpts: true,
        shmSize: true,
        memory: true,
        memorySwap: true,
        cpuShares: true,
        cpuSet: true,
        init: true,
        stopSignal: true,
        stopTimeout: true,
        destroyGraceSeconds: true,
        removeVolumes: true,
        wait: true,
        waitTimeout: true,
        mustRun: true,
        start: true,
        capabilities: { adds: true, drops: true },
        readOnly: true,
        privileged: true,
        tmpfs: true,
        hosts: { host: true, ip: true },
        dns: true,
        dnsOpts: true,
        dnsSearches: true,
        sysctls: true,
        ulimits: { name: true, soft: true, hard: true },
        groupAdds: true,
        tty: true,
        stdinOpen: true,
    },
    "docker:index/network:Network": {
        name: true,
        driver: true,
        internal: true,
        labels,
        attachable: true,
        ipv6: true,
        options: true,
        ipamDriver: true,
        ipamConfigs: { subnet: true, gateway: true, ipRange: true },
    },
    "docker:index/volume:Volume": { name: true, driver: true, driverOpts: true, labels },
    "docker:index/remoteImage:RemoteImage": {
        name: true,
        keepLocally: true,
        forceRemove: true,
        triggers: true,
        pullTriggers: true,
    },
    "docker:index/image:Image": {
        imageName: true,
        skipPush: true,
        buildOnPreview: true,
        build: { context: true, dockerfile: true, args: true, target: true, builderVersion: true },
    },
    // A remote host's provider: tcp://ADDRESS:2376 with the Host's CA, client certificate and key.
    "pulumi:providers:docker": { host: true, version: true, caMaterial: true, certMaterial: true, keyMaterial: true },
    // Read from the sandbox's saved state of the referenced stack; nothing on the engine.
    "pulumi:pulumi:StackReference": { name: true, outputs: true, secretOutputNames: true },
    "command:local:Command": {
        create: true,
        update: true,
        delete: true,
        interpreter: true,
        environment: true,
        stdin: true,
        dir: true,
        triggers: true,
    },
    // Run over real SSH (sandbox/lib/ssh.ts) with these connection fields; others (a proxy, an agent) are refused.
    "command:remote:Command": {
        connection: {
            host: true,
            port: true,
            user: true,
            privateKey: true,
            privateKeyPassword: true,
            password: true,
            dialErrorLimit: true,
            perDialTimeout: true,
            hostKey: true,
        },
        create: true,
        update: true,
        delete: true,
        stdin: true,
        triggers: true,
    },
    // DigitalOcean's API, simulated (sandbox/digitalocean.ts).
    "digitalocean:index/sshKey:SshKey": { name: true, publicKey: true },
    "digitalocean:index/droplet:Droplet": {
        name: true,
        region: true,
        size: true,
        image: true,
        tags: true,
        monitoring: true,
        backups: true,
        ipv6: true,
        sshKeys: true,
        userData: true,
    },
    "digitalocean:index/firewall:Firewall": {
        name: true,
        dropletIds: true,
        inboundRules: { protocol: true, portRange: true, sourceAddresses: true },
        outboundRules: { protocol: true, portRange: true, destinationAddresses: true },
    },
    "digitalocean:index/dnsRecord:DnsRecord": { domain: true, name: true, type: true, value: true, ttl: true },
    "random:index/randomPassword:RandomPassword": randomString(),
    "random:index/randomString:RandomString": randomString(),
    "random:index/randomId:RandomId": { byteLength: true, prefix: true, keepers: true },
    "random:index/randomInteger:RandomInteger": { min: true, max: true, seed: true, keepers: true },
    "random:index/randomUuid:RandomUuid": { keepers: true },
    "random:index/randomBytes:RandomBytes": { length: true, keepers: true },
    "tls:index/privateKey:PrivateKey": { algorithm: true, rsaBits: true, ecdsaCurve: true },
    "tls:index/selfSignedCert:SelfSignedCert": {
        privateKeyPem: true,
        subject: subject(),
        dnsNames: true,
        ipAddresses: true,
        uris: true,
        isCaCertificate: true,
        allowedUses: true,
        validityPeriodHours: true,
        earlyRenewalHours: true,
        setSubjectKeyId: true,
        setAuthorityKeyId: true,
    },
    "tls:index/certRequest:CertRequest": {
        privateKeyPem: true,
        subject: subject(),
        dnsNames: true,
        ipAddresses: true,
        uris: true,
    },
    "tls:index/locallySignedCert:LocallySignedCert": {
        certRequestPem: true,
        caPrivateKeyPem: true,
        caCertPem: true,
        isCaCertificate: true,
        allowedUses: true,
        validityPeriodHours: true,
        earlyRenewalHours: true,
        setSubjectKeyId: true,
    },
};

/** Providers that hold no engine state: anything goes, nothing is created. */
export const VIRTUAL_PROVIDERS = new Set([
    "pulumi:providers:random",
    "pulumi:providers:tls",
    "pulumi:providers:command",
    "pulumi:providers:digitalocean",
]);

function randomString(): { [field: string]: FieldSpec } {
    return {
        length: true,
        special: true,
        overrideSpecial: true,
        upper: true,
        lower: true,
        numeric: true,
        number: true,
        minUpper: true,
        minLower: true,
        minNumeric: true,
        minSpecial: true,
        keepers: true,
    };
}

function subject(): FieldSpec {
    return {
        commonName: true,
        organization: true,
        organizationalUnit: true,
        country: true,
        province: true,
        locality: true,
        postalCode: true,
        streetAddresses: true,
        serialNumber: true,
        emailAddress: true,
    };
}

/** Paths (e.g. `ports[0].foo`) of fields in `value` that `spec` does not list. */
export function unsupportedFields(value: unknown, spec: FieldSpec, path = ""): string[] {
    if (spec === true || value === null || value === undefined) return [];
    if (Array.isArray(value)) return value.flatMap((v, i) => unsupportedFields(v, spec, `${path}[${i}]`));
    if (typeof value !== "object") return [];
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => {
        if (v === undefined) return [];
        const p = path ? `${path}.${k}` : k;
        return k in spec ? unsupportedFields(v, spec[k], p) : [p];
    });
}

/** Throws when the type is unknown to the sandbox or an input field is not on THE LIST. */
export function checkSupported(type: string, name: string, inputs: Record<string, unknown>): void {
    if (VIRTUAL_PROVIDERS.has(type)) return;
    const spec = SUPPORTED[type];
    if (!spec) {
        throw resourceError(
            type,
            name,
            "type",
            "is not supported by the sandbox applier",
            `supported types: ${Object.keys(SUPPORTED).join(", ")}`,
        );
    }
    const bad = unsupportedFields(inputs, spec);
    if (bad.length > 0) {
        throw resourceError(
            type,
            name,
            `field "${bad[0]}"`,
            "is not supported by the sandbox applier",
            `remove it or add it to sandbox/lib/fields.ts and map it (supported: ${Object.keys(spec).join(", ")})`,
        );
    }
}
