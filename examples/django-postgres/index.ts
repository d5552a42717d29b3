// A Django counter backed by Postgres, served by nginx over https: on this machine's Docker engine
// (target "local", the default), on a DigitalOcean droplet (target "droplet") or on a
// machine of yours reached over SSH (target "server").
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { App, NginxVhost, Postgres, certificateFromConfig, domainFromConfig, hostFromConfig } from "dropyard";

const config = new pulumi.Config();
// *.localhost names resolve to this machine without any DNS record; a droplet or server needs a real name
// (`pulumi config set domain ...`), checked here before anything is created.
const domain = domainFromConfig("counter.localhost", config);

// Where it runs: config `target` is local (this machine's Docker engine, the default), droplet (with
// `region`, `size`, `dropletImage`) or server, any Ubuntu or Debian machine you reach over SSH as root or a user
// with passwordless sudo (`serverAddress`, `serverUser`, `serverKey`).
const host = hostFromConfig("counter-host", config);

// The certificate. A laptop cannot pass Let's Encrypt's challenge, so locally it is self-signed unless
// `acmeServer` names a CA to ask; a droplet or server gets one from Let's Encrypt (or acmeServer), for
// `acmeEmail`. With `dnsZone`, a domain in your DigitalOcean account, the droplet's DNS record is made too.
const tls = certificateFromConfig("counter-cert", host, domain, config);

// Django signs CSRF tokens with SECRET_KEY: set your own with `pulumi config set --secret secretKey ...`,
// or one is generated once for this stack and kept in its state.
const secretKey =
    config.getSecret("secretKey") ??
    pulumi.secret(new random.RandomPassword("counter-secret-key", { length: 50 }).result);

// dbShmSize: Postgres's /dev/shm in MB (dropyard's default, 256, when unset). Raise it if large
// parallel queries fail with "could not resize shared memory segment"; a change recreates the
// container, and the data stays on its volume.
const db = new Postgres("counter-db", { host, database: "counter", shmSize: config.getNumber("dbShmSize") });

// Built on the host from ./app. Its Procfile runs `release` (migrate) before `web` (gunicorn) takes traffic.
const app = new App("counter", {
    host,
    build: path.join(__dirname, "app"),
    port: 8000,
    link: [db], // sets DATABASE_URL, a secret
    env: { ALLOWED_HOSTS: domain, DEBUG: "false" },
    secrets: { SECRET_KEY: secretKey },
});

new NginxVhost("counter", { host, domains: [domain], upstream: app, tls });

export const url = `https://${domain}/`;
export const ip = host.address;
export const sshCommand = host.sshCommand;
// A droplet's login key (a secret; absent locally). sshCommand reads it from ~/.ssh/dropyard-counter-host.
export const sshKey = host.sshPrivateKey;
