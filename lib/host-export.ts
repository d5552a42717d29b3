// The one value a host-owning stack exports so other stacks can attach to its Host (`Host.exported`,
// `Host.fromStack`, `Host.attach`): everything they need to run containers and host commands there
// and to change the edge's files, under a format version. Pure: no resources.
import { isIP } from "node:net";
import { ErrorFactory } from "./errors";

/** The format version this dropyard writes and reads. A change to the fields below bumps it. */
export const HOST_EXPORT_VERSION = 1;

/** What `Host.exported` holds: a secret whenever it carries keys (a droplet's or server's). */
export interface HostExport {
    /** Marks the value as a dropyard host. */
    readonly dropyard: "host";
    /** The format version (`HOST_EXPORT_VERSION` of the dropyard that wrote it). */
    readonly version: number;
    /** The Host's name in its own stack: the edge container and cron files carry it. */
    readonly hostName: string;
    /** Which kind of host the owning stack made. */
    readonly target: "droplet" | "server" | "local";
    /** Where dropyard keeps its files on the host (edge config, certificates, backups). */
    readonly dataDir: string;
    /** The address users and DNS records point at. */
    readonly address: string;
    /** The Docker endpoint, e.g. `unix:///var/run/docker.sock` or `tcp://203.0.113.10:2376`. */
    readonly dockerHost: string;
    /** The Docker API's mutual TLS material (droplet and server). */
    readonly docker?: {
        /** The host's own CA, which signed the Docker API's server certificate. */
        readonly caPem: string;
        /** The client certificate the Docker API accepts. */
        readonly certPem: string;
        /** The client certificate's private key. */
        readonly keyPem: string;
    };
    /** How host commands reach a droplet or server. */
    readonly ssh?: {
        /** Address sshd listens on. */
        readonly host: string;
        /** Login user: root, or one with passwordless sudo. */
        readonly user: string;
        /** sshd's port. */
        readonly port: number;
        /** The SSH private key (OpenSSH or PEM). */
        readonly privateKey: string;
    };
    /** The edge the host stack runs, which attached stacks only reload. */
    readonly edge: {
        /** The edge nginx's container name, for `docker exec` (test and reload). */
        readonly container: string;
        /** The Docker network public web containers join so the edge reaches them. */
        readonly network: string;
        /** Host port of HTTP. */
        readonly httpPort: number;
        /** Host port of HTTPS. */
        readonly httpsPort: number;
        /** Host addresses the ports are published on. */
        readonly bindAddresses: readonly string[];
    };
}

/** A value, briefly, for an error message that says what was found instead of a host. */
export function describeFound(v: unknown): string {
    if (v === undefined) return "nothing";
    if (v === null) return "null";
    if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
    if (Array.isArray(v)) return `a list of ${v.length}`;
    if (typeof v === "object") return `an object with keys ${Object.keys(v).sort().join(", ") || "(none)"}`;
    return `the ${typeof v} ${String(v)}`;
}

/**
 * Checks that `v` is a HostExport this dropyard understands; `where` (the error's field) names the
 * stack and output it came from.
 */
export function parseHostExport(err: ErrorFactory, where: string, v: unknown): HostExport {
    const o = v as Partial<HostExport> | undefined;
    if (typeof o !== "object" || o === null || o.dropyard !== "host") {
        throw err(
            where,
            `is not a dropyard host (found ${describeFound(v)})`,
            "export `host.exported` of a dropyard Host from that stack (e.g. `export const host = host.exported`)",
        );
    }
    if (o.version !== HOST_EXPORT_VERSION) {
        throw err(
            where,
            `is a dropyard host of format version ${JSON.stringify(o.version)}; this dropyard reads version ${HOST_EXPORT_VERSION}`,
            "use the same dropyard version in both projects",
        );
    }
    const bad = (field: string) =>
        err(
            where,
            `is a damaged dropyard host (${field} is missing or wrong)`,
            "run `pulumi up` of the host's stack again to export it anew",
        );
    for (const f of ["hostName", "dataDir", "address", "dockerHost"] as const)
        if (typeof o[f] !== "string" || !o[f]) throw bad(f);
    if (!["droplet", "server", "local"].includes(o.target as string)) throw bad("target");
    const e = o.edge;
    if (
        !e ||
        typeof e.container !== "string" ||
        typeof e.network !== "string" ||
        typeof e.httpPort !== "number" ||
        typeof e.httpsPort !== "number" ||
        !Array.isArray(e.bindAddresses) ||
        e.bindAddresses.some(a => isIP(a) === 0)
    ) {
        throw bad("edge");
    }
    if (o.target !== "local" && (!o.docker || !o.ssh)) throw bad(o.docker ? "ssh" : "docker");
    return o as HostExport;
}
