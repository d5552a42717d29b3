// Two Node services and two MariaDB databases split over two networks, as in the Notes app:
//
//   frontnet: notes, db-notes, userauth        authnet: userauth, db-userauth
//
// notes reaches userauth but can never reach db-userauth. No service or database publishes a port:
// only the host's nginx does, and it serves notes alone.
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { App, BridgeNet, MariaDB, NginxVhost, certificateFromConfig, domainFromConfig, hostFromConfig } from "dropyard";

const config = new pulumi.Config();
// *.localhost names resolve to this machine without any DNS record; a droplet or server needs a real name
// (`pulumi config set domain ...`), checked here before anything is created.
const domain = domainFromConfig("notes.localhost", config);

// Where it runs: config `target` is local (this machine's Docker engine, the default), droplet (with
// `region`, `size`, `dropletImage`) or server, any Ubuntu or Debian machine you reach over SSH as root or a user
// with passwordless sudo (`serverAddress`, `serverUser`, `serverKey`).
const host = hostFromConfig("notes-host", config);

// The certificate. A laptop cannot pass Let's Encrypt's challenge, so locally it is self-signed unless
// `acmeServer` names a CA to ask; a droplet or server gets one from Let's Encrypt (or acmeServer), for
// `acmeEmail`. With `dnsZone`, a domain in your DigitalOcean account, the droplet's DNS record is made too.
const tls = certificateFromConfig("notes-cert", host, domain, config);

// Neither network needs a way out: internal networks carry only traffic between their members.
const frontnet = new BridgeNet("frontnet", { host, internal: true });
const authnet = new BridgeNet("authnet", { host, internal: true });

// Each service has its own database, on its own side. The container names are the host names.
const dbNotes = new MariaDB("db-notes", { host, database: "notes", networks: [frontnet] });
const dbUserauth = new MariaDB("db-userauth", { host, database: "userauth", networks: [authnet] });

// notes proves itself to userauth with this key; sessions are signed with the other.
const apiKey = pulumi.secret(new random.RandomPassword("userauth-api-key", { length: 40, special: false }).result);
const sessionSecret = pulumi.secret(
    new random.RandomPassword("notes-session-secret", { length: 64, special: false }).result,
);

const USERAUTH_PORT = 3000;
new App("userauth", {
    host,
    build: path.join(__dirname, "userauth"),
    port: USERAUTH_PORT,
    link: [dbUserauth], // DB_* variables; joins authnet
    networks: [frontnet, authnet], // on both: the one bridge between the two sides
    public: false, // off the edge network: only apps on frontnet (notes) can call it
    secrets: { USERAUTH_API_KEY: apiKey },
});

const notes = new App("notes", {
    host,
    build: path.join(__dirname, "notes"),
    port: 3000,
    link: [dbNotes], // DB_* variables; joins frontnet
    networks: [frontnet], // never authnet
    env: { USERAUTH_URL: `http://userauth:${USERAUTH_PORT}` },
    secrets: { USERAUTH_API_KEY: apiKey, SESSION_SECRET: sessionSecret },
});

new NginxVhost("notes", { host, domains: [domain], upstream: notes, tls });

export const url = `https://${domain}/`;
export const ip = host.address;
export const sshCommand = host.sshCommand;
// A droplet's login key (a secret; absent locally). sshCommand reads it from ~/.ssh/dropyard-notes-host.
export const sshKey = host.sshPrivateKey;
// `docker network inspect <name>` lists who is on each side.
export const networks = { frontnet: frontnet.networkName, authnet: authnet.networkName };
