// examples/wordpress-mariadb deployed on the local engine by the sandbox (self-signed certificate, its
// default locally), then checked from outside: the installer through the edge, the install completed
// against MariaDB, an unchanged second up, and wp-content surviving a replaced WordPress container.
// Traffic goes to loopback and into the stack's own containers (docker exec).
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { randomBytes, X509Certificate } from "node:crypto";
import { containersWhere, exec, inspect, mariadb, theContainer } from "../../support/docker";
import { fetchVia } from "../../../sandbox/lib/http";
import { actionOf, changes, deployment, prepare, teardown } from "../support/stack";

const HOST = "wordpress-host";
const DOMAIN = "blog.localhost";
const DB = "wordpress-db";
const IMAGES = ["mariadb:11", "nginx:1.30", "wordpress:6.8-php8.4-apache"];
const TITLE = "Sandbox Blog e2e";
const ADMIN = "e2e-admin";
const EMAIL = "admin@dropyard.test";
/** A file the test puts in wp-content, and what it holds. */
const MARKER = "/wp-content/uploads/e2e-marker.txt";
const TOKEN = randomBytes(12).toString("hex");

const d = deployment("wordpress-mariadb", DOMAIN);
let config: Record<string, string> = {};

function webContainer(): Promise<string> {
    return theContainer("label=dev.dropyard.app=wordpress", "label=dev.dropyard.process=web");
}

describe("wordpress-mariadb on the sandbox", () => {
    before(async () => {
        await prepare(d, HOST, IMAGES);
        await d.up(config);
    });

    after(() => teardown(d, HOST));

    test("the install page answers through the edge over https, and the site sends visitors to it", async () => {
        const home = await fetchVia({ host: DOMAIN });
        assert.equal(home.status, 302, home.body.slice(0, 300));
        assert.equal(home.headers.location, `https://${DOMAIN}/wp-admin/install.php`);
        const r = await fetchVia({ host: DOMAIN, path: "/wp-admin/install.php" });
        assert.equal(r.status, 200);
        assert.match(r.body, /<form id="setup" method="post" action="install\.php\?step=2"/);
        assert.match(r.body, /name="weblog_title"/);
        assert.match(new X509Certificate(r.certificate!.raw).subjectAltName ?? "", /DNS:blog\.localhost/);
    });

    test("completing the install form succeeds, and MariaDB holds the site and its admin", async () => {
        const r = await fetchVia({
            host: DOMAIN,
            path: "/wp-admin/install.php?step=2",
            form: {
                weblog_title: TITLE,
                user_name: ADMIN,
                admin_password: "e2e-Pass-1234",
                admin_password2: "e2e-Pass-1234",
                pw_weak: "on",
                admin_email: EMAIL,
                blog_public: "0",
                language: "",
            },
            headers: { origin: `https://${DOMAIN}`, referer: `https://${DOMAIN}/wp-admin/install.php` },
            timeoutMs: 60000,
        });
        assert.equal(r.status, 200);
        assert.match(r.body, /<h1>Success!<\/h1>/, r.body.slice(0, 1000));
        assert.equal(
            await mariadb(DB, "wordpress", "SELECT option_value FROM wp_options WHERE option_name = 'blogname'"),
            TITLE,
        );
        assert.equal(
            await mariadb(DB, "wordpress", "SELECT option_value FROM wp_options WHERE option_name = 'siteurl'"),
            `https://${DOMAIN}`,
        );
        assert.equal(
            await mariadb(DB, "wordpress", "SELECT CONCAT(user_login, ' ', user_email) FROM wp_users"),
            `${ADMIN} ${EMAIL}`,
        );
        const home = await fetchVia({ host: DOMAIN });
        assert.equal(home.status, 200);
        assert.ok(home.body.includes(TITLE), "the home page shows the new site's title");
    });

    test("a second up with no change changes nothing", async () => {
        const web = await webContainer();
        const s = await d.up(config);
        assert.deepEqual(changes(s), []);
        assert.equal(s.resources.length, d.ups[0].summary.resources.length);
        assert.equal(await webContainer(), web);
    });

    test("a file put in wp-content survives replacing the WordPress container (a changed wpDebug)", async () => {
        const old = await webContainer();
        const oldId = (await inspect(old)).Id;
        await exec(
            old,
            "sh",
            "-c",
            `mkdir -p "$(dirname "$1")" && printf %s "$2" > "$1"`,
            "-",
            `/var/www/html${MARKER}`,
            TOKEN,
        );
        assert.equal((await fetchVia({ host: DOMAIN, path: MARKER })).body, TOKEN);

        config = { ...config, wpDebug: "true" };
        const s = await d.up(config);
        assert.equal(actionOf(s, "wordpress-web-1"), "replace");
        const web = await webContainer();
        assert.notEqual((await inspect(web)).Id, oldId);
        assert.deepEqual(await containersWhere(`id=${oldId}`), [], "the old container is gone");
        assert.ok(
            (await exec(web, "env")).split("\n").includes("WORDPRESS_DEBUG=1"),
            "the new container runs with the changed environment",
        );
        assert.equal(await exec(web, "cat", `/var/www/html${MARKER}`), TOKEN);
        const served = await fetchVia({ host: DOMAIN, path: MARKER });
        assert.equal(served.status, 200);
        assert.equal(served.body, TOKEN);
        // The site is still installed: its rows in MariaDB outlived the old container too.
        const home = await fetchVia({ host: DOMAIN });
        assert.equal(home.status, 200);
        assert.ok(home.body.includes(TITLE));
    });
});
