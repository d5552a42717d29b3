// The sandbox's stand-in images (sandbox/images) honour the interface of the official images they are named
// after, as far as dropyard and the examples use it. Needs a running engine and built images:
//   sandbox/engine/engine.sh start && sandbox/images/build.sh
// Traffic goes only to containers on the docker network these tests create. Everything made here is removed.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { docker, dockerResult, engine } from "../support/docker";
import { fetchVia, Response } from "../../sandbox/lib/http";
import { addARecord } from "./support/acme";
import { until as poll } from "../support/until";

const P = `dyimg-${process.pid}`; // prefix of everything these tests create
const NET = `${P}-net`;
const made = { containers: [] as string[], volumes: [] as string[], images: [] as string[], dirs: [] as string[] };

const IMAGES = [
    "postgres:17",
    "mariadb:11",
    "nginx:1.30",
    "certbot/certbot:v4.0.0",
    "wordpress:6.8-php8.4-apache",
    "python:3.13-slim",
    "node:20-slim",
    "dropyard-sandbox/pebble:2.6",
];

/**
 * The docker CLI (the stand-ins are tested as `docker run` runs them) when failure is an answer: status, both streams.
 */
async function result(...args: string[]): Promise<{ status: number; out: string }> {
    const r = await dockerResult(...args);
    return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

async function start(name: string, args: string[]): Promise<string> {
    made.containers.push(`${P}-${name}`);
    await docker("run", "-d", "--name", `${P}-${name}`, "--network", NET, ...args);
    return `${P}-${name}`;
}

async function remove(container: string): Promise<void> {
    await docker("rm", "-f", "-v", container);
}

async function volume(name: string): Promise<string> {
    made.volumes.push(`${P}-${name}`);
    await docker("volume", "create", `${P}-${name}`);
    return `${P}-${name}`;
}

async function ipOf(container: string): Promise<string> {
    return docker("inspect", "-f", `{{(index .NetworkSettings.Networks "${NET}").IPAddress}}`, container);
}

/** Polls every 500 ms until fn resolves truthy; a failure carries the container's last log lines. */
async function until<T>(
    what: string,
    seconds: number,
    fn: () => Promise<T | undefined | false>,
    container?: string,
): Promise<T> {
    return poll(what, seconds, fn, 500).catch(async (e: Error) => {
        throw new Error(`${e.message}\n${container ? await engine.logs(container, 30) : ""}`);
    });
}

async function exitsZero(...args: string[]): Promise<boolean> {
    return docker(...args).then(
        () => true,
        () => false,
    );
}

/**
 * GET to a container on our network (the kit's fetchVia); https verifies against `ca` with `servername` as the name.
 */
function get(
    url: string,
    opts: { headers?: Record<string, string>; ca?: string; servername?: string } = {},
): Promise<Response> {
    const u = new URL(url);
    const headers: Record<string, string> = { host: u.host };
    for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k.toLowerCase()] = v;
    return fetchVia({
        scheme: u.protocol === "https:" ? "https" : "http",
        address: u.hostname,
        port: u.port ? Number(u.port) : undefined,
        path: u.pathname + u.search,
        host: opts.servername ?? u.hostname,
        ca: opts.ca,
        headers,
    });
}

/** A host directory to bind-mount; readable by the unprivileged users the images run as. */
function tempDir(): string {
    const d = mkdtempSync(join(tmpdir(), `${P}-`));
    chmodSync(d, 0o755);
    made.dirs.push(d);
    return d;
}

before(async () => {
    const info = await result("info", "-f", "{{.ServerVersion}}");
    assert.equal(info.status, 0, `no Docker daemon answers; run sandbox/engine/engine.sh start\n${info.out}`);
    const missing: string[] = [];
    for (const i of IMAGES) if (!(await engine.imageInspect(i))) missing.push(i);
    assert.deepEqual(missing, [], "stand-in images missing; run sandbox/images/build.sh");
    await docker("network", "create", NET);
});

after(async () => {
    for (const c of made.containers) await result("rm", "-f", "-v", c);
    for (const v of made.volumes) await result("volume", "rm", "-f", v);
    for (const i of made.images) await result("image", "rm", "-f", i);
    await result("network", "rm", NET);
    for (const d of made.dirs) rmSync(d, { recursive: true, force: true });
});

describe("every stand-in", () => {
    test("is labelled with the upstream version it contains and its recipe hash", async () => {
        const expected: Record<string, RegExp> = {
            "postgres:17": /^17\.\d+$/,
            "mariadb:11": /^11\.8\.\d+$/,
            "nginx:1.30": /^1\.30\.\d+$/,
            "certbot/certbot:v4.0.0": /^4\.0\.0$/,
            "wordpress:6.8-php8.4-apache": /^6\.8\.\d+$/,
            "python:3.13-slim": /^3\.13\.\d+$/,
            "node:20-slim": /^20\.\d+\.\d+$/,
            "dropyard-sandbox/pebble:2.6": /^2\.6\.\d+$/,
        };
        for (const image of IMAGES) {
            const labels = JSON.parse(
                await docker("image", "inspect", "-f", "{{json .Config.Labels}}", image),
            ) as Record<string, string>;
            assert.match(labels["org.opencontainers.image.version"], expected[image], image);
            assert.match(labels["dropyard.recipe"], /^[0-9a-f]{64}$/, image);
            assert.equal(labels["dropyard.stand-in"], image);
        }
    });

    test("trusts the host's CA bundle", async () => {
        const out = await docker(
            "run",
            "--rm",
            "--entrypoint",
            "sh",
            "python:3.13-slim",
            "-c",
            "cat /usr/local/share/ca-certificates/host-bundle.crt | sha256sum",
        );
        const host = spawnSync("sh", ["-c", "sha256sum < /etc/ssl/certs/ca-certificates.crt"], {
            encoding: "utf8",
        }).stdout.trim();
        assert.equal(out, host);
    });
});

describe("postgres:17", () => {
    const env = ["-e", "POSTGRES_USER=app", "-e", "POSTGRES_DB=appdb"];
    const psql = (host: string, password: string, sql: string) =>
        docker(
            "run",
            "--rm",
            "--network",
            NET,
            "-e",
            `PGPASSWORD=${password}`,
            "postgres:17",
            "psql",
            "-h",
            host,
            "-U",
            "app",
            "-d",
            "appdb",
            "-tAc",
            sql,
        );

    test("starts with no command, as the official image: postgres, SIGINT, port 5432, PGDATA", async () => {
        const cfg = JSON.parse(await docker("image", "inspect", "-f", "{{json .Config}}", "postgres:17"));
        assert.deepEqual(cfg.Cmd, ["postgres"]);
        assert.equal(cfg.StopSignal, "SIGINT");
        assert.ok("5432/tcp" in cfg.ExposedPorts);
        assert.ok(cfg.Env.includes("PGDATA=/var/lib/postgresql/data"));
        assert.ok("/var/lib/postgresql/data" in cfg.Volumes);
    });

    test("refuses to initialise without POSTGRES_PASSWORD", async () => {
        const r = await result("run", "--rm", "postgres:17");
        assert.notEqual(r.status, 0);
        assert.match(r.out, /superuser password is not specified/);
    });

    test(
        "initialises from POSTGRES_*, answers pg_isready, and keeps data without re-initialising",
        { timeout: 120_000 },
        async () => {
            const data = await volume("pgdata");
            const init = tempDir();
            writeFileSync(
                join(init, "01-seed.sql"),
                "CREATE TABLE seeded (v text); INSERT INTO seeded VALUES ('from initdb.d');\n",
            );
            /** A container on `data` with `init` as initdb.d, once it answers pg_isready. */
            const startOnData = async (name: string, password: string): Promise<string> => {
                const c = await start(name, [
                    ...env,
                    "-e",
                    `POSTGRES_PASSWORD=${password}`,
                    "-v",
                    `${data}:/var/lib/postgresql/data`,
                    "-v",
                    `${init}:/docker-entrypoint-initdb.d:ro`,
                    "postgres:17",
                ]);
                // Over TCP: the temporary server of initialisation listens on the socket only.
                await until(
                    `pg_isready over TCP in ${name}`,
                    60,
                    () => exitsZero("exec", c, "pg_isready", "-h", "127.0.0.1", "-U", "app", "-d", "appdb"),
                    c,
                );
                return c;
            };
            const first = await startOnData("pg1", "first-pw");
            assert.equal(
                await docker("exec", first, "sh", "-c", "command -v pg_isready"),
                "/usr/lib/postgresql/17/bin/pg_isready",
            );
            assert.equal(await docker("exec", first, "ps", "-o", "user=", "-p", "1"), "postgres");

            assert.equal(
                await psql(first, "first-pw", "SELECT v FROM seeded"),
                "from initdb.d",
                "initdb.d ran in POSTGRES_DB",
            );
            await psql(first, "first-pw", "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('row-1')");
            const hba = await docker(
                "exec",
                first,
                "sh",
                "-c",
                "grep -v '^#' $PGDATA/pg_hba.conf | grep '^host all all all'",
            );
            assert.match(hba, /^host all all all scram-sha-256$/);
            assert.notEqual(
                (
                    await result(
                        "run",
                        "--rm",
                        "--network",
                        NET,
                        "-e",
                        "PGPASSWORD=wrong",
                        "postgres:17",
                        "psql",
                        "-h",
                        first,
                        "-U",
                        "app",
                        "-d",
                        "appdb",
                        "-c",
                        "select 1",
                    )
                ).status,
                0,
                "a wrong password must be refused",
            );

            await remove(first);
            // A new container on the same data with another password: no initialisation, the old password still holds.
            const second = await startOnData("pg2", "second-pw");
            assert.match(await docker("logs", second), /appears to contain a database; Skipping initialization/);
            assert.equal(await psql(second, "first-pw", "SELECT v FROM kept"), "row-1");
            assert.equal(
                await psql(second, "first-pw", "SELECT count(*) FROM seeded"),
                "1",
                "initdb.d did not run again",
            );
        },
    );
});

describe("mariadb:11", () => {
    const env = ["-e", "MARIADB_DATABASE=shop", "-e", "MARIADB_USER=shop", "-e", "MARIADB_PASSWORD=shop-pw"];
    const args = ["--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci"];
    /** Runs `stmt` against the server `host` from a client container, as `user` in `database` (shop's own). */
    const sql = (host: string, stmt: string, user = "shop", password = "shop-pw", database: string[] = ["shop"]) =>
        docker(
            "run",
            "--rm",
            "--network",
            NET,
            "--entrypoint",
            "mariadb",
            "mariadb:11",
            "-h",
            host,
            "-u",
            user,
            `-p${password}`,
            "--skip-ssl",
            "-N",
            "-B",
            ...database,
            "-e",
            stmt,
        );
    const healthy = (c: string) => exitsZero("exec", c, "healthcheck.sh", "--connect", "--innodb_initialized");

    test("refuses to initialise without a root password option", async () => {
        const r = await result("run", "--rm", "mariadb:11");
        assert.notEqual(r.status, 0);
        assert.match(r.out, /Database is uninitialized and password option is not specified/);
    });

    test(
        "initialises from MARIADB_*, passes extra args to mariadbd, is healthy, and keeps data",
        { timeout: 120_000 },
        async () => {
            const data = await volume("mydata");
            /** A server on `data` (`more` env first), once healthcheck.sh passes. */
            const startOnData = async (name: string, rootPassword: string, more: string[] = []): Promise<string> => {
                const c = await start(name, [
                    ...more,
                    "-e",
                    `MARIADB_ROOT_PASSWORD=${rootPassword}`,
                    "-v",
                    `${data}:/var/lib/mysql`,
                    "mariadb:11",
                    ...args,
                ]);
                await until(`healthcheck.sh --connect --innodb_initialized in ${name}`, 60, () => healthy(c), c);
                return c;
            };
            const first = await startOnData("my1", "root-pw", env);
            assert.equal(
                await docker("exec", first, "sh", "-c", "test -s /var/lib/mysql/.my-healthcheck.cnf && echo ok"),
                "ok",
            );
            assert.equal(
                await sql(first, "SELECT CONCAT(@@character_set_server, ' ', @@collation_server)"),
                "utf8mb4 utf8mb4_unicode_ci",
            );
            await sql(first, "CREATE TABLE kept (v VARCHAR(20)); INSERT INTO kept VALUES ('row-1')");
            const root = await sql(first, "SELECT CURRENT_USER()", "root", "root-pw", []);
            assert.equal(root, "root@%", "root reaches the server over the network with MARIADB_ROOT_PASSWORD");

            await remove(first);
            const second = await startOnData("my2", "other");
            assert.match(await docker("logs", second), /holds a database; skipping initialisation/);
            assert.equal(await sql(second, "SELECT v FROM kept"), "row-1");
        },
    );

    test("takes the MYSQL_* aliases and a random root password", { timeout: 90_000 }, async () => {
        const c = await start("my3", [
            "-e",
            "MYSQL_RANDOM_ROOT_PASSWORD=yes",
            "-e",
            "MYSQL_DATABASE=shop",
            "-e",
            "MYSQL_USER=shop",
            "-e",
            "MYSQL_PASSWORD=shop-pw",
            "mariadb:11",
        ]);
        await until("healthy", 60, () => healthy(c), c);
        assert.match(await docker("logs", c), /GENERATED ROOT PASSWORD: \S{20,}/);
        assert.equal(await sql(c, "SELECT DATABASE()"), "shop");
    });

    test("healthcheck.sh --connect fails when no server listens", async () => {
        const r = await result("run", "--rm", "--entrypoint", "healthcheck.sh", "mariadb:11", "--connect");
        assert.equal(r.status, 1, r.out);
    });
});

describe("nginx:1.30", () => {
    test("serves conf.d/*.conf with the official layout and passes nginx -t", { timeout: 60_000 }, async () => {
        const conf = tempDir();
        writeFileSync(
            join(conf, "app.conf"),
            "server {\n    listen 80;\n    server_name app.test;\n    location / { return 200 'hello from conf.d\\n'; }\n}\n",
        );
        const c = await start("nginx", ["-v", `${conf}/app.conf:/etc/nginx/conf.d/app.conf:ro`, "nginx:1.30"]);
        await docker("exec", c, "nginx", "-t");
        const ip = await ipOf(c);
        const app = await until("nginx answers", 20, () => get(`http://${ip}/`, { headers: { Host: "app.test" } }), c);
        assert.equal(app.body, "hello from conf.d\n");
        // app.conf sorts first, so it is the default server; default.conf answers for localhost, as upstream.
        assert.match((await get(`http://${ip}/`, { headers: { Host: "localhost" } })).body, /Welcome to nginx!/);
        assert.match(await docker("logs", c), /"GET \/ HTTP\/1.1" 200/, "access log goes to the container's output");

        const cfg = JSON.parse(await docker("image", "inspect", "-f", "{{json .Config}}", "nginx:1.30"));
        assert.deepEqual(cfg.Cmd, ["nginx", "-g", "daemon off;"]);
        assert.equal(cfg.StopSignal, "SIGQUIT");
        assert.match(
            await docker("exec", c, "cat", "/etc/nginx/nginx.conf"),
            /http \{[^]*include \/etc\/nginx\/conf\.d\/\*\.conf;/,
        );
    });

    test("nginx -t fails on a broken conf.d file", async () => {
        const conf = tempDir();
        writeFileSync(join(conf, "bad.conf"), "server { listen 80; no_such_directive on; }\n");
        const r = await result(
            "run",
            "--rm",
            "-v",
            `${conf}/bad.conf:/etc/nginx/conf.d/bad.conf:ro`,
            "nginx:1.30",
            "nginx",
            "-t",
        );
        assert.notEqual(r.status, 0);
        assert.match(r.out, /unknown directive "no_such_directive"/);
    });
});

describe("certbot/certbot:v4.0.0", () => {
    test("runs certbot as its entrypoint, with the official volumes", async () => {
        assert.match(await docker("run", "--rm", "certbot/certbot:v4.0.0", "--version"), /^certbot 4\.0\.0$/m);
        const cfg = JSON.parse(await docker("image", "inspect", "-f", "{{json .Config}}", "certbot/certbot:v4.0.0"));
        assert.deepEqual(cfg.Entrypoint, ["certbot"]);
        assert.deepEqual(Object.keys(cfg.Volumes).sort(), ["/etc/letsencrypt", "/var/lib/letsencrypt"]);
    });
});

describe("wordpress:6.8-php8.4-apache", () => {
    test(
        "serves the install page against MariaDB, with an env-driven wp-config.php and conf.d inis",
        { timeout: 120_000 },
        async () => {
            const db = await start("wpdb", [
                "-e",
                "MARIADB_RANDOM_ROOT_PASSWORD=1",
                "-e",
                "MARIADB_DATABASE=wp",
                "-e",
                "MARIADB_USER=wp",
                "-e",
                "MARIADB_PASSWORD=wp-pw",
                "mariadb:11",
            ]);
            const ini = tempDir();
            writeFileSync(join(ini, "uploads.ini"), "upload_max_filesize = 64M\npost_max_size = 64M\n");
            const wp = await start("wp", [
                "-e",
                `WORDPRESS_DB_HOST=${db}`,
                "-e",
                "WORDPRESS_DB_USER=wp",
                "-e",
                "WORDPRESS_DB_PASSWORD=wp-pw",
                "-e",
                "WORDPRESS_DB_NAME=wp",
                "-e",
                "WORDPRESS_TABLE_PREFIX=dy_",
                "-e",
                "WORDPRESS_CONFIG_EXTRA=define('DY_EXTRA', 'extra-ok');",
                "-v",
                `${ini}/uploads.ini:/usr/local/etc/php/conf.d/uploads.ini:ro`,
                "wordpress:6.8-php8.4-apache",
            ]);
            const ip = await ipOf(wp);
            const page = await until(
                "install page",
                90,
                async () => {
                    const r = await get(`http://${ip}/wp-admin/install.php`);
                    return r.status === 200 && r.body.includes("WordPress &rsaquo; Installation") ? r : undefined;
                },
                wp,
            );
            assert.match(page.body, /<form id="setup" method="post" action="install\.php\?step=2"/);
            const root = await get(`http://${ip}/`);
            assert.equal(root.status, 302);
            assert.equal(root.headers.location, `http://${ip}/wp-admin/install.php`);
            // Behind the edge: X-Forwarded-Proto https makes WordPress build https URLs.
            const proxied = await get(`http://${ip}/`, {
                headers: { "X-Forwarded-Proto": "https", Host: "blog.test" },
            });
            assert.equal(proxied.headers.location, "https://blog.test/wp-admin/install.php");

            const config = await docker("exec", wp, "cat", "/var/www/html/wp-config.php");
            assert.match(config, /getenv_docker\('WORDPRESS_DB_HOST', 'mysql'\)/);
            assert.doesNotMatch(config, /put your unique phrase here/, "salts are filled in");
            assert.equal(
                await docker("exec", wp, "sh", "-c", "find /var/www/html -type l | wc -l"),
                "0",
                "a plain WordPress tree",
            );
            const tables = await docker(
                "exec",
                db,
                "sh",
                "-c",
                "mariadb -uwp -pwp-pw -N -B wp -e 'show tables' | head -1",
            );
            assert.equal(tables, "", "nothing installed yet: only the install page");

            // A probe page: WordPress loaded through wp-config.php (WP_INSTALLING keeps it from redirecting to the
            // installer).
            writeFileSync(
                join(ini, "probe.php"),
                "<?php define('WP_INSTALLING', true); require 'wp-load.php';\n" +
                    "echo ini_get('upload_max_filesize'), ' ', DY_EXTRA, ' ', $table_prefix, ' ', DB_HOST;\n",
            );
            await docker("cp", join(ini, "probe.php"), `${wp}:/var/www/html/probe.php`);
            assert.equal(
                (await get(`http://${ip}/probe.php`)).body,
                `64M extra-ok dy_ ${db}`,
                "mod_php reads /usr/local/etc/php/conf.d; WORDPRESS_CONFIG_EXTRA, _TABLE_PREFIX and _DB_HOST are honoured",
            );
        },
    );
});

describe("python:3.13-slim", () => {
    const pip = (requirements: string) =>
        result(
            "run",
            "--rm",
            "python:3.13-slim",
            "sh",
            "-c",
            `printf '%s\\n' '${requirements}' > /tmp/r.txt && pip install -r /tmp/r.txt`,
        );

    test("has python, python3, pip and Debian's gunicorn (what images of the earlier recipe run)", async () => {
        assert.match(
            (await result("run", "--rm", "python:3.13-slim", "python", "--version")).out,
            /^Python 3\.13\.\d+/,
        );
        assert.equal((await result("run", "--rm", "python:3.13-slim", "gunicorn", "--version")).status, 0);
    });

    test(
        "pip installs a pinned requirement the image does not carry from the package index",
        { timeout: 180_000 },
        async () => {
            const r = await pip("itsdangerous==2.2.0");
            assert.equal(r.status, 0, r.out);
            assert.match(r.out, /Successfully installed itsdangerous-2\.2\.0/);
            // Into /usr/local, over nothing of Debian's: a requirement Debian's builds satisfy is installed too.
            const django = await pip("Django==5.1.4");
            assert.equal(django.status, 0, django.out);
            assert.match(django.out, /Successfully installed .*Django-5\.1\.4/);
        },
    );
});

describe("node:20-slim", () => {
    test("npm install works inside a docker build", { timeout: 180_000 }, async () => {
        const ctx = tempDir();
        writeFileSync(
            join(ctx, "package.json"),
            JSON.stringify({ name: "t", version: "1.0.0", private: true, dependencies: { ms: "2.1.3" } }),
        );
        writeFileSync(
            join(ctx, "Dockerfile"),
            "FROM node:20-slim\nWORKDIR /app\nCOPY package.json .\n" +
                'RUN npm install --no-audit --no-fund\nCMD ["node", "-e", "console.log(require(\'ms\')(60000))"]\n',
        );
        const tag = `${P}-npm:test`;
        made.images.push(tag);
        await docker("build", "-q", "-t", tag, ctx);
        assert.equal(await docker("run", "--rm", tag), "1m");
        assert.match(await docker("run", "--rm", "node:20-slim", "--version"), /^v20\.\d+\.\d+$/);
    });
});

describe("dropyard-sandbox/pebble:2.6", () => {
    test(
        "Pebble answers on its directory URL and serves its root; challtestsrv takes DNS answers",
        { timeout: 60_000 },
        async () => {
            const cts = await start("cts", [
                "dropyard-sandbox/pebble:2.6",
                "pebble-challtestsrv",
                "-defaultIPv6",
                "",
                "-defaultIPv4",
                "10.0.0.1",
                "-http01",
                "",
                "-https01",
                "",
                "-tlsalpn01",
                "",
                "-doh",
                "",
            ]);
            const ctsIp = await ipOf(cts);
            const peb = await start("pebble", ["dropyard-sandbox/pebble:2.6", "-dnsserver", `${ctsIp}:8053`]);
            const ip = await ipOf(peb);
            const ca = await docker(
                "run",
                "--rm",
                "dropyard-sandbox/pebble:2.6",
                "cat",
                "/etc/pebble/certs/pebble.minica.pem",
            );
            const dir = await until(
                "directory",
                20,
                () => get(`https://${ip}:14000/dir`, { ca, servername: "pebble" }),
                peb,
            );
            assert.equal(dir.status, 200);
            assert.equal(JSON.parse(dir.body).newOrder, `https://${ip}:14000/order-plz`);
            const root = await get(`https://${ip}:15000/roots/0`, { ca, servername: "pebble" });
            assert.match(root.body, /^-----BEGIN CERTIFICATE-----/);
            const add = await until("challtestsrv", 20, () => addARecord(ctsIp, 8055, "app.test", "10.0.0.2"), cts);
            assert.equal(add.status, 200);
        },
    );
});
