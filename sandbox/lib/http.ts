// HTTP(S) through the edge by name, without DNS: the connection goes to the edge's loopback address and the
// name travels in the Host header and (for https) as SNI, where the certificate is checked against `ca`.
// node:http rather than fetch: Node 20's fetch never settles when a server accepts and then closes the connection
// (docker-proxy does, for a container not yet listening), and a process waiting on it exits with the promise pending.
import { request as httpRequest, IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import { DetailedPeerCertificate, TLSSocket } from "node:tls";

export interface Request {
    /** The site's name: Host header, SNI and the name the certificate must carry. */
    readonly host: string;
    readonly path?: string;
    readonly method?: string;
    /** @default "https" */
    readonly scheme?: "http" | "https";
    /** PEM roots the server's chain must lead to. @default - none: the certificate is not checked */
    readonly ca?: string;
    readonly headers?: Record<string, string>;
    /** A form body (sent as application/x-www-form-urlencoded). */
    readonly form?: Record<string, string>;
    /** A JSON body (sent as application/json); not with `form`. */
    readonly json?: unknown;
    /** Cookies to send and to fill from Set-Cookie. */
    readonly jar?: CookieJar;
    /** Where to connect. @default "127.0.0.1" (the edge of a local Host) */
    readonly address?: string;
    /** @default 443 for https, 80 for http */
    readonly port?: number;
    /** @default 10000 */
    readonly timeoutMs?: number;
}

export interface Response {
    status: number;
    headers: IncomingHttpHeaders;
    body: string;
    /** The server's certificate with its issuer chain (https only). */
    certificate?: DetailedPeerCertificate;
}

/** One request on a fresh connection; rejects on network and certificate errors, resolves on any HTTP status. */
export function fetchVia(r: Request): Promise<Response> {
    const scheme = r.scheme ?? "https";
    const body = r.form
        ? new URLSearchParams(r.form).toString()
        : r.json !== undefined
          ? JSON.stringify(r.json)
          : undefined;
    const headers: Record<string, string> = { host: r.host, ...r.headers };
    if (body !== undefined) {
        headers["content-type"] = r.form ? "application/x-www-form-urlencoded" : "application/json";
        headers["content-length"] = String(Buffer.byteLength(body));
    }
    const cookie = r.jar?.header();
    if (cookie) headers.cookie = cookie;
    const options = {
        host: r.address ?? "127.0.0.1",
        port: r.port ?? (scheme === "https" ? 443 : 80),
        path: r.path ?? "/",
        method: r.method ?? (body !== undefined ? "POST" : "GET"),
        headers,
        agent: false as const,
        timeout: r.timeoutMs ?? 10000,
        // SNI carries names only; for an address, node checks the certificate's IP SANs against `host`.
        ...(scheme === "https"
            ? { servername: isIP(r.host) ? undefined : r.host, ca: r.ca, rejectUnauthorized: r.ca !== undefined }
            : {}),
    };
    return new Promise((resolve, reject) => {
        const req = (scheme === "https" ? httpsRequest : httpRequest)(options, res => {
            const chunks: Buffer[] = [];
            const certificate = scheme === "https" ? (res.socket as TLSSocket).getPeerCertificate(true) : undefined;
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => {
                r.jar?.store(res.headers["set-cookie"]);
                resolve({
                    status: res.statusCode ?? 0,
                    headers: res.headers,
                    body: Buffer.concat(chunks).toString("utf8"),
                    certificate,
                });
            });
            res.on("error", reject);
        });
        req.on("timeout", () =>
            req.destroy(new Error(`${scheme}://${r.host}${r.path ?? "/"}: no answer within ${options.timeout} ms`)),
        );
        req.on("error", reject);
        req.end(body);
    });
}

/** A cookie jar for one site: name -> value, from Set-Cookie headers (attributes ignored, deletions honoured). */
export class CookieJar {
    readonly cookies = new Map<string, string>();

    store(setCookie: string[] | undefined): void {
        for (const line of setCookie ?? []) {
            const [pair, ...attributes] = line.split(";");
            const eq = pair.indexOf("=");
            const name = pair.slice(0, eq).trim();
            const value = pair.slice(eq + 1).trim();
            const expired = attributes.some(a => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=.*1970/i.test(a));
            if (expired || value === "") this.cookies.delete(name);
            else this.cookies.set(name, value);
        }
    }

    header(): string | undefined {
        return this.cookies.size ? [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ") : undefined;
    }
}
