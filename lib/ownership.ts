// What a stack's claimed names mean for the deploy-time ownership check (lib/render/ownership.ts):
// the Docker objects, edge files and domains it is about to create on one host.
import * as path from "node:path";
import { HostScope, Name } from "./claims";
import { stackOwner } from "./labels";
import { OwnedObjects } from "./render/ownership";

export function ownedObjects(scope: HostScope, names: readonly Name[]): OwnedObjects {
    const confDir = scope.names.edge.dirs.confDir;
    const of = (kind: Name["kind"]) =>
        [...new Set(names.filter(n => n.kind === kind && n.name !== "").map(n => n.name))].sort();
    return {
        owner: stackOwner(),
        containers: of("container"),
        apps: of("app"),
        volumes: of("volume"),
        networks: of("network"),
        // nginx's files carry their owner in their first line; the others (certificates, cron) are covered by
        // the names of the objects they belong to.
        files: of("file").filter(f => path.posix.dirname(f) === confDir && f.endsWith(".conf")),
        domains: of("domain"),
        confDir,
    };
}
