// One program, deployed as two stacks: `pulumi up --stack staging` and `--stack production`. Each stack
// has its own database, domain and secrets (Pulumi.<stack>.yaml), and every name on the host carries the
// stack's name, so staging can be destroyed without touching production.
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { App, certificateFromConfig, Host, NginxVhost, Postgres } from "dropyard";

export = async () => {
    const config = new pulumi.Config();
    const env = pulumi.getStack();
    const domain = config.require("domain");
    const host = await Host.fromStack("host", config.require("infraStack"), { output: "hostExport" });

    const db = new Postgres(`notes-${env}-db`, { host, database: "notes" });
    // Flask signs sessions with SECRET_KEY: `pulumi config set --secret secretKey ...`, or one is made per stack.
    const secretKey =
        config.getSecret("secretKey") ??
        pulumi.secret(new random.RandomPassword(`notes-${env}-secret-key`, { length: 48 }).result);

    // web (gunicorn) and worker (a scheduler writing to the database) from the Procfile; release creates the tables.
    const app = new App(`notes-${env}`, {
        host,
        build: path.join(__dirname, "service"),
        port: 8000,
        link: [db],
        env: { APP_ENV: env, TICK_SECONDS: config.get("tickSeconds") ?? "60" },
        secrets: { SECRET_KEY: secretKey },
    });

    // Self-signed on a local host unless acmeServer names a CA (Pebble in the sandbox); Let's Encrypt on a droplet.
    const tls = certificateFromConfig(`notes-${env}-cert`, host, domain, config);
    new NginxVhost(`notes-${env}`, { host, domains: [domain], upstream: app, tls });

    return { url: `https://${domain}/`, environment: env };
};
