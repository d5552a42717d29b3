// Pebble, the ACME test CA, for the examples' certificates (dropyard-sandbox/pebble:2.6: Pebble and
// pebble-challtestsrv). Both run with --network host so that:
//   - certbot (a plain `docker run` on the default bridge) reaches Pebble's ACME listener on the docker0
//     gateway address, with no network of its own to join;
//   - Pebble's HTTP-01 check reaches the edge, which a local Host publishes on 127.0.0.1:80.
// challtestsrv answers every name with 127.0.0.1 and is Pebble's only resolver. Pebble's own TLS
// certificate is minted here, for the gateway address; its CA is what the examples get as `acmeCaBundle`.
// Nothing listens beyond loopback and the docker0 gateway. `stop()` removes it all.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { containersWhere, docker, engine, inspect } from "../../support/docker";
import { fetchVia, Response } from "../../../sandbox/lib/http";
import { until } from "../../support/until";

const IMAGE = "dropyard-sandbox/pebble:2.6";
const LABEL = "dev.dropyard.test=acme";
const ACME_PORT = 14000;
const MANAGEMENT = "127.0.0.1:15000";
const DNS = "127.0.0.1:8053";
const CHALLTESTSRV_MANAGEMENT = "127.0.0.1:8055";

export interface Pebble {
    /** The docker0 gateway address Pebble's ACME listener is bound to. */
    readonly gateway: string;
    /** The ACME directory URL: config `acmeServer`. */
    readonly directoryUrl: string;
    /** PEM of the CA that signed Pebble's own TLS certificate: config `acmeCaBundle`. */
    readonly listenerCa: string;
    /** The example config that makes a stack ask Pebble for its certificate. */
    readonly config: Record<string, string>;
    /** The root Pebble issues certificates under (generated at each start; from its management API). */
    root(): Promise<string>;
    /** Makes challtestsrv answer `name` with `address` (a sandbox machine's), so Pebble validates there. */
    pointName(name: string, address: string): Promise<void>;
    /** Removes Pebble, challtestsrv and the minted files. */
    stop(): Promise<void>;
}

/**
 * The default bridge's gateway: from `docker network inspect bridge`, else the address of its interface
 * (docker0). dockerd leaves Gateway out of the default bridge's IPAM config when it took the interface's
 * own address, and with no container on the bridge the interface has no carrier, so Node's
 * `os.networkInterfaces()` leaves it out too; `ip` lists the address of a down interface. Last resort:
 * the subnet's first address, which dockerd gives the bridge unless `bip` says otherwise. (As on main.)
 */
export async function bridgeGateway(): Promise<string> {
    const bridge = await engine.docker.getNetwork("bridge").inspect();
    const ipv4 = (c: { Gateway?: string; Subnet?: string }) => c.Subnet !== undefined && !c.Subnet.includes(":");
    const configs: { Gateway?: string; Subnet?: string }[] = (bridge.IPAM?.Config ?? []).filter(ipv4);
    const fromIpam = configs.map(c => c.Gateway).find(Boolean);
    if (fromIpam) return fromIpam;
    const ifname = bridge.Options?.["com.docker.network.bridge.name"] ?? "docker0";
    const ip = spawnSync("ip", ["-j", "-4", "addr", "show", "dev", ifname], { encoding: "utf8" });
    if (ip.status === 0) {
        const local = JSON.parse(ip.stdout)?.[0]?.addr_info?.find(
            (a: { family: string }) => a.family === "inet",
        )?.local;
        if (local) return local;
    }
    const subnet = configs[0]?.Subnet;
    if (subnet) {
        const [a, b, c, d] = subnet.split("/")[0].split(".").map(Number);
        return [a, b, c, d + 1].join(".");
    }
    throw new Error(
        `no IPv4 gateway for the default bridge (${ifname}): not in \`docker network inspect bridge\`, ` +
            `not on the interface (${ip.error?.message ?? ip.stderr.trim()}), and no IPv4 subnet`,
    );
}

/** A CA and a server certificate for `ips`, made with openssl; PEM files in `dir`. */
function mintListenerCertificate(dir: string, ips: string[]): void {
    const openssl = (...args: string[]) =>
        execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=dropyard e2e pebble listener CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    );
    openssl(
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        "/CN=pebble",
        "-keyout",
        "key.pem",
        "-out",
        "req.pem",
    );
    writeFileSync(
        join(dir, "ext.cnf"),
        [
            `subjectAltName=${ips.map(ip => `IP:${ip}`).join(",")}`,
            "basicConstraints=critical,CA:FALSE",
            "keyUsage=critical,digitalSignature",
            "extendedKeyUsage=serverAuth",
            "",
        ].join("\n"),
    );
    openssl(
        "x509",
        "-req",
        "-in",
        "req.pem",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "cert.pem",
    );
}

/** Removes Pebble containers an interrupted run left behind (only ours: they carry the test label). */
export async function removeLeftoverPebbles(): Promise<void> {
    for (const c of await containersWhere(`label=${LABEL}`)) {
        await engine.docker.getContainer(c).remove({ force: true });
    }
}

export async function startPebble(): Promise<Pebble> {
    const gateway = await bridgeGateway();
    const dir = mkdtempSync(join(tmpdir(), "dropyard-pebble-"));
    const names = [`dye2e-challtestsrv-${process.pid}`, `dye2e-pebble-${process.pid}`];
    const stop = async () => {
        for (const n of names) await engine.attempt(() => engine.docker.getContainer(n).remove({ force: true }));
        rmSync(dir, { recursive: true, force: true });
    };
    try {
        await removeLeftoverPebbles();
        mintListenerCertificate(dir, [gateway, "127.0.0.1"]);
        writeFileSync(
            join(dir, "pebble-config.json"),
            JSON.stringify(
                {
                    pebble: {
                        listenAddress: `${gateway}:${ACME_PORT}`,
                        managementListenAddress: MANAGEMENT,
                        certificate: "/acme/cert.pem",
                        privateKey: "/acme/key.pem",
                        httpPort: 80, // HTTP-01 on port 80, as a real CA: the edge's published port
                        tlsPort: 443,
                        ocspResponderURL: "",
                        externalAccountBindingRequired: false,
                        retryAfter: { authz: 1, order: 1 },
                    },
                },
                null,
                2,
            ),
        );
        const common = ["run", "-d", "--label", LABEL, "--network", "host"];
        await docker(
            ...common,
            "--name",
            names[0],
            IMAGE,
            "pebble-challtestsrv",
            "-defaultIPv4",
            "127.0.0.1",
            "-defaultIPv6",
            "",
            "-dns01",
            DNS,
            "-management",
            CHALLTESTSRV_MANAGEMENT,
            "-http01",
            "",
            "-https01",
            "",
            "-tlsalpn01",
            "",
            "-doh",
            "",
        );
        await docker(
            ...common,
            "--name",
            names[1],
            "-v",
            `${dir}:/acme:ro`,
            IMAGE,
            "pebble",
            "-config",
            "/acme/pebble-config.json",
            "-dnsserver",
            DNS,
        );
        const listenerCa = readFileSync(join(dir, "ca.pem"), "utf8");
        const directoryUrl = `https://${gateway}:${ACME_PORT}/dir`;
        await until("Pebble's ACME directory answers", 30, async () => {
            for (const n of names) {
                if (!(await inspect(n)).State.Running) throw new Error(`${n} exited: ${await engine.logs(n, 20)}`);
            }
            const r = await fetchVia({
                host: gateway,
                address: gateway,
                port: ACME_PORT,
                path: "/dir",
                ca: listenerCa,
                timeoutMs: 2000,
            });
            return r.status === 200 && JSON.parse(r.body).newOrder !== undefined;
        });
        return {
            gateway,
            directoryUrl,
            listenerCa,
            config: { acmeServer: directoryUrl, acmeCaBundle: listenerCa, acmeEmail: "e2e@dropyard.test" },
            root: async () => {
                const [host, port] = MANAGEMENT.split(":");
                const r = await fetchVia({ host, address: host, port: Number(port), path: "/roots/0", ca: listenerCa });
                if (r.status !== 200 || !r.body.includes("BEGIN CERTIFICATE"))
                    throw new Error(`Pebble /roots/0 answered ${r.status}: ${r.body}`);
                return r.body;
            },
            pointName: async (name, address) => {
                const [host, port] = CHALLTESTSRV_MANAGEMENT.split(":");
                const r = await addARecord(host, Number(port), name, address);
                if (r.status !== 200) throw new Error(`challtestsrv /add-a answered ${r.status}: ${r.body}`);
            },
            stop,
        };
    } catch (e) {
        await stop();
        throw e;
    }
}

/** Asks challtestsrv's management API (at `address`:`port`) to answer `name` with `ip`. */
export function addARecord(address: string, port: number, name: string, ip: string): Promise<Response> {
    return fetchVia({
        host: address,
        address,
        port,
        scheme: "http",
        path: "/add-a",
        json: { host: name, addresses: [ip] },
    });
}
