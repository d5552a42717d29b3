// A Docker API client for one host, from what its provider's inputs say: a unix socket, or
// `tcp://address:2376` with the mutual-TLS material handed to the client as strings (never written
// to disk). No `host` means the local engine, as for Pulumi's docker provider.
import Docker from "dockerode";
import { CliError } from "./errors";
import { DockerEndpoint } from "./state";

export const DEFAULT_SOCKET = "/var/run/docker.sock";

/** dockerode's connection options for an endpoint. Exported for tests. */
export function connectionOptions(ep: DockerEndpoint, env: NodeJS.ProcessEnv = process.env): Docker.DockerOptions {
    const host = ep.host ?? env.DOCKER_HOST ?? `unix://${DEFAULT_SOCKET}`;
    if (host.startsWith("unix://")) return { socketPath: host.slice("unix://".length) };
    if (host.startsWith("/")) return { socketPath: host };
    const m = /^(?:tcp|https?):\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(host);
    if (!m)
        throw new CliError(
            `docker host "${host}" is not understood; dropyard speaks to unix:// sockets and tcp:// addresses`,
        );
    const tls = ep.ca !== undefined || ep.cert !== undefined || ep.key !== undefined;
    if (tls && (ep.ca === undefined || ep.cert === undefined || ep.key === undefined)) {
        throw new CliError(
            `docker host "${host}": the state holds only part of the TLS client material (caMaterial, certMaterial, keyMaterial); run \`pulumi up\` again`,
        );
    }
    return {
        protocol: tls ? "https" : "http",
        host: m[1].replace(/^\[|\]$/g, ""),
        port: Number(m[2] ?? (tls ? 2376 : 2375)),
        ...(tls ? { ca: ep.ca, cert: ep.cert, key: ep.key } : {}),
    };
}

export function dockerClient(ep: DockerEndpoint): Docker {
    return new Docker(connectionOptions(ep));
}

/** Whether a dockerode error is the engine's 404 (no such container). */
export function isNotFound(e: unknown): boolean {
    return (e as { statusCode?: number })?.statusCode === 404;
}
