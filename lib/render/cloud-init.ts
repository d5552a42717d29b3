// The cloud-init user data a dropyard droplet boots with. It must stay byte-for-byte stable: the
// DigitalOcean provider replaces a droplet whenever its user data changes, so nothing here may
// depend on time, randomness or secrets. Secrets reach the machine later, over SSH (bootstrap.ts).
import { stringify } from "yaml";

/** DigitalOcean rejects user data of 64 KiB or more. */
export const USER_DATA_LIMIT = 64 * 1024;

export interface CloudInitInput {
    /** Size of the swap file in MiB; 0 for none. Image builds on a 1 GiB droplet need the headroom. */
    readonly swapMiB: number;
}

/**
 * Renders `#cloud-config` user data: refresh the package index, install Docker early (the bootstrap
 * installs it too when this did not happen, e.g. on a `server` target), no SSH passwords, a swap file.
 */
export function renderCloudInit(input: CloudInitInput): string {
    const config: Record<string, unknown> = {
        package_update: true,
        packages: ["docker.io", "ca-certificates", "curl"],
        ssh_pwauth: false,
    };
    if (input.swapMiB > 0) {
        config.swap = { filename: "/swapfile", size: `${input.swapMiB}M` };
    }
    const text = `#cloud-config\n${stringify(config)}`;
    const bytes = Buffer.byteLength(text, "utf8");
    if (bytes >= USER_DATA_LIMIT) {
        throw new Error(`cloud-init user data is ${bytes} bytes; DigitalOcean accepts less than ${USER_DATA_LIMIT}`);
    }
    return text;
}
