// The host and its edge, owned by this stack alone. App stacks attach to it with
// `Host.fromStack(..., "organization/flask-infra/<stack>")` and never create or restart the edge.
import * as pulumi from "@pulumi/pulumi";
import { Host } from "dropyard";

const config = new pulumi.Config();
const target = config.get("target", { allowedValues: ["local", "droplet"] }) ?? "local";

const host =
    target === "droplet"
        ? new Host("flask-host", { droplet: { region: config.get("region"), size: config.get("size") } })
        : new Host("flask-host", { local: true });

// The one value app stacks attach with (a secret on a droplet: it carries the SSH and Docker keys).
export const hostExport = host.exported;
export const address = host.address;
