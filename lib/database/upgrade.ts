// The major upgrade of a Postgres or MariaDB: a host command, run whenever the image changes, that moves
// the data to the new major before the container is replaced (script: render/upgrade.ts; the model:
// docs/architecture.md, "Major database upgrades"). A new image of the same major makes it a no-op.
import * as pulumi from "@pulumi/pulumi";
import type * as docker from "@pulumi/docker";
import type { Host } from "../host";
import { renderUpgradeScript } from "../render/upgrade";
import type { ServerContainer } from "./server";

export interface UpgradeTarget {
    readonly name: string;
    readonly host: Host;
    readonly engine: "postgres" | "mariadb";
    readonly component: string;
    readonly version: string;
    readonly versions: readonly string[];
    readonly volume: string;
}

/** The `<name>-upgrade` host command; the container waits for it, and it waits for `after` (the backup). */
export function createUpgrade(
    parent: pulumi.Resource,
    t: UpgradeTarget,
    c: ServerContainer,
    image: docker.RemoteImage,
    after: pulumi.Resource[],
): pulumi.CustomResource {
    const script = image.imageId.apply(id =>
        renderUpgradeScript({
            engine: t.engine,
            container: t.name,
            volume: t.volume,
            image: id,
            version: t.version,
            versions: t.versions,
            dataPath: c.dataPath,
            env: c.upgradeEnv ?? [],
            command: c.command ?? [],
            ready: c.healthcheck,
            owner: `${t.component} "${t.name}" on host "${t.host.hostName}"`,
        }),
    );
    return t.host.command(
        `${t.name}-upgrade`,
        { create: script, triggers: [image.imageId] },
        { parent, dependsOn: after },
    );
}
