// The sandbox's registry: one container of dropyard-sandbox/registry:2.8 (Debian's docker-registry) holding the
// stand-in images under Docker Hub's names (library/postgres:17, certbot/certbot:v4.0.0, ...). Every sandbox
// machine's dockerd has it as its registry mirror (sandbox/images/machine/daemon.json names it dropyard-registry),
// so a RemoteImage or a Dockerfile's FROM on a machine pulls for real, as a droplet pulls from Docker Hub. The
// local engine pushes to it on 127.0.0.1 (a loopback registry needs no TLS); machines reach it on their network.
// It is kept between runs (a cache: pushing what it already holds moves no layer); it carries the label
// dev.dropyard.test=registry.
import { docker, exec } from "./lib/exec";
import { fetchVia } from "./lib/http";

export const REGISTRY_NAME = "dropyard-registry";
export const REGISTRY_IMAGE = "dropyard-sandbox/registry:2.8";
const VOLUME = `${REGISTRY_NAME}-data`;
const LABEL = "dev.dropyard.test=registry";

/** The repository path a daemon asks its Docker Hub mirror for: `postgres:17` -> `library/postgres:17`. */
export function hubPath(image: string): string {
    const first = image.split("/")[0];
    if (image.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost")) {
        throw new Error(`"${image}" names a registry of its own; a Docker Hub mirror serves Docker Hub's names only`);
    }
    return image.includes("/") ? image : `library/${image}`;
}

/** Starts the registry when it is not running; returns the loopback port it is published on. */
export async function ensureRegistry(): Promise<number> {
    const running = await exec("docker", ["inspect", "-f", "{{.State.Running}}", REGISTRY_NAME]);
    if (running.stdout.trim() !== "true") {
        if (running.code === 0) await docker(["rm", "-f", REGISTRY_NAME]);
        await docker(["volume", "create", "--label", LABEL, VOLUME]);
        await docker([
            "run",
            "-d",
            "--name",
            REGISTRY_NAME,
            "--label",
            LABEL,
            "--restart",
            "unless-stopped",
            "-p",
            "127.0.0.1::5000",
            "-v",
            `${VOLUME}:/var/lib/docker-registry`,
            REGISTRY_IMAGE,
        ]);
    }
    const port = Number((await docker(["port", REGISTRY_NAME, "5000/tcp"])).split("\n")[0].split(":").pop());
    const deadline = Date.now() + 30_000;
    for (;;) {
        const r = await fetchVia({ host: "127.0.0.1", scheme: "http", port, path: "/v2/", timeoutMs: 5000 }).catch(
            (e: Error) => e,
        );
        if (!(r instanceof Error) && r.status === 200) return port;
        if (Date.now() > deadline)
            throw new Error(
                `the registry on 127.0.0.1:${port} did not answer: ${r instanceof Error ? r.message : r.status}`,
            );
        await new Promise(res => setTimeout(res, 500));
    }
}

/** Pushes images of the local engine into the registry under Docker Hub's names. */
export async function mirrorImages(images: readonly string[]): Promise<void> {
    const port = await ensureRegistry();
    for (const image of images) {
        const target = `127.0.0.1:${port}/${hubPath(image)}`;
        await docker(["tag", image, target]);
        try {
            await docker(["push", "--quiet", target], 600_000);
        } finally {
            await exec("docker", ["image", "rm", target]); // the tag only; the image stays
        }
    }
}

/** Puts the registry on a machine's network under the name the machine's daemon.json gives its mirror. */
export async function attachRegistry(network: string): Promise<void> {
    await ensureRegistry();
    await docker(["network", "connect", "--alias", REGISTRY_NAME, network, REGISTRY_NAME]);
}

/** Takes the registry off a machine's network (before the network goes). */
export async function detachRegistry(network: string): Promise<void> {
    await exec("docker", ["network", "disconnect", "--force", network, REGISTRY_NAME]);
}
