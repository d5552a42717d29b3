// The host and its edge, owned by this stack alone. App stacks attach to it with
// `Host.fromStack(..., "organization/flask-infra/<stack>")` and never create or restart the edge.
import { hostFromConfig } from "dropyard";

// Config `target`: local (this machine's Docker engine, the default), droplet or server (see hostFromConfig).
const host = hostFromConfig("flask-host");

// The one value app stacks attach with (a secret on a droplet: it carries the SSH and Docker keys).
export const hostExport = host.exported;
export const address = host.address;
