// WordPress with MariaDB, served by nginx over https: on this machine's Docker engine (target "local",
// the default), on a DigitalOcean droplet (target "droplet") or on a
// machine of yours reached over SSH (target "server").
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { App, MariaDB, NginxVhost, certificateFromConfig, domainFromConfig, hostFromConfig } from "dropyard";

const config = new pulumi.Config();
// *.localhost names resolve to this machine without any DNS record; a droplet or server needs a real name
// (`pulumi config set domain ...`), checked here before anything is created.
const domain = domainFromConfig("blog.localhost", config);
const siteUrl = `https://${domain}`;

// Where it runs: config `target` is local (this machine's Docker engine, the default), droplet (with
// `region`, `size`, `dropletImage`) or server, any Ubuntu or Debian machine you reach over SSH as root or a user
// with passwordless sudo (`serverAddress`, `serverUser`, `serverKey`).
const host = hostFromConfig("wordpress-host", config);

// The certificate. A laptop cannot pass Let's Encrypt's challenge, so locally it is self-signed unless
// `acmeServer` names a CA to ask; a droplet or server gets one from Let's Encrypt (or acmeServer), for
// `acmeEmail`. With `dnsZone`, a domain in your DigitalOcean account, the droplet's DNS record is made too.
const tls = certificateFromConfig("wordpress-cert", host, domain, config);

const db = new MariaDB("wordpress-db", { host, database: "wordpress", user: "wordpress" });

// The image writes fresh random keys and salts into every new container's wp-config.php, which logs
// everyone out on each deploy. Generated once per stack instead, they stay put.
const saltNames = [
    "AUTH_KEY",
    "SECURE_AUTH_KEY",
    "LOGGED_IN_KEY",
    "NONCE_KEY",
    "AUTH_SALT",
    "SECURE_AUTH_SALT",
    "LOGGED_IN_SALT",
    "NONCE_SALT",
];
const salts: Record<string, pulumi.Output<string>> = {};
for (const name of saltNames) {
    const password = new random.RandomPassword(`wordpress-${name.toLowerCase().replace(/_/g, "-")}`, {
        length: 64,
        special: false,
    });
    salts[`WORDPRESS_${name}`] = pulumi.secret(password.result);
}

// PHP the image evaluates in wp-config.php. nginx terminates TLS and says so in X-Forwarded-Proto;
// WordPress must believe it, or it builds http:// links and redirects in a loop.
const configExtra = `
if (isset($_SERVER['HTTP_X_FORWARDED_PROTO']) && $_SERVER['HTTP_X_FORWARDED_PROTO'] === 'https') {
    $_SERVER['HTTPS'] = 'on';
}
define('WP_HOME', '${siteUrl}');
define('WP_SITEURL', '${siteUrl}');
// Core files come from the image and are replaced on every deploy: upgrade by changing the image tag.
define('WP_AUTO_UPDATE_CORE', false);
`;

// The official image plus a php.ini that raises the upload limit (./wordpress/Dockerfile), built on the host.
const wordpress = new App("wordpress", {
    host,
    build: path.join(__dirname, "wordpress"),
    port: 80,
    link: [db], // joins the database's network
    env: {
        WORDPRESS_DB_HOST: `${db.hostname}:${db.port}`,
        WORDPRESS_DB_NAME: db.database,
        WORDPRESS_DB_USER: db.user,
        WORDPRESS_CONFIG_EXTRA: configExtra,
        // wpDebug: WordPress's WP_DEBUG (notices in the page and the log), for a test site only.
        ...(config.getBoolean("wpDebug") === true ? { WORDPRESS_DEBUG: "1" } : {}),
    },
    secrets: { WORDPRESS_DB_PASSWORD: db.password, ...salts },
    // Themes, plugins and uploads live in wp-content: on a volume they survive redeploys.
    volumes: { "wp-content": "/var/www/html/wp-content" },
});

new NginxVhost("wordpress", { host, domains: [domain], upstream: wordpress, tls, clientMaxBodySize: "64m" });

export const url = `${siteUrl}/`;
export const adminUrl = `${siteUrl}/wp-admin/`;
export const ip = host.address;
export const sshCommand = host.sshCommand;
// A droplet's login key (a secret; absent locally). sshCommand reads it from ~/.ssh/dropyard-wordpress-host.
export const sshKey = host.sshPrivateKey;
