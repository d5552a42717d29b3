// The backup bench's stack (bench/backup.ts): one Postgres on a local Host, backed up to a host directory.
import * as pulumi from "@pulumi/pulumi";

// The sandbox resolves `dropyard` to this repo's lib/, as an installed package would be.
const { Host, Postgres } = require("dropyard") as typeof import("../../lib");

const config = new pulumi.Config();
const dataDir = config.require("dataDir");
const host = new Host("benchbk", { local: true, dataDir, edge: { httpPort: 18084, httpsPort: 18447 } });
new Postgres("bench-pg", { host, backup: { passphrase: config.requireSecret("passphrase") } });
