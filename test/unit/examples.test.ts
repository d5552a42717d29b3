// The three example stacks, evaluated under the shared mocks exactly as `pulumi up` would run them
// on their default (local) target, with assertions on the graph each one records.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { evaluate, fakeOutputs, Graph, isSecretAt } from "../../sandbox/harness";
import { envOf, networksOf } from "../support/helpers";
import { CONTAINER, LOCAL_COMMAND, NETWORK, VOLUME } from "../support/types";

const EXAMPLES = path.join(__dirname, "..", "..", "examples");

/** Evaluates examples/<name>/index.ts as its own project, reloading it so each run is fresh. */
async function example(name: string, config: Record<string, string> = {}): Promise<Graph> {
    const entry = path.join(EXAMPLES, name, "index.ts");
    delete require.cache[require.resolve(entry)];
    return evaluate(() => require(entry), { project: name, config });
}

/** Only the edge nginx publishes host ports; every app and database container publishes none. */
function assertOnlyEdgePublishes(g: Graph, hostName: string): void {
    const publishing = g
        .ofType(CONTAINER)
        .filter(c => (c.inputs.ports ?? []).length > 0)
        .map(c => c.name);
    assert.deepEqual(publishing, [`${hostName}-edge-nginx`]);
    const ports = g
        .one(CONTAINER, `${hostName}-edge-nginx`)
        .inputs.ports.map((p: { internal: number }) => p.internal)
        .sort();
    assert.deepEqual([...new Set(ports)], [443, 80]);
}

/** The nginx server block a vhost installs (it travels in its config command's script). */
function vhostConfig(g: Graph, vhost: string): string {
    return g.one(LOCAL_COMMAND, `${vhost}-config`).inputs.create as string;
}

test("django-postgres: DATABASE_URL reaches the web container as a secret; the release step migrates", async () => {
    const g = await example("django-postgres");
    const web = g.one(CONTAINER, "counter-web-1");
    const env = envOf(web);
    assert.match(env.DATABASE_URL, /^postgres:\/\/app:[^@]+@counter-db:5432\/counter$/);
    assert.ok(isSecretAt(web, "envs"), "the env list carrying DATABASE_URL and SECRET_KEY is secret");
    assert.equal(env.ALLOWED_HOSTS, "counter.localhost");
    assert.ok(env.SECRET_KEY.length >= 50);
    assert.equal(env.PORT, "8000");

    const release = g.one(LOCAL_COMMAND, "counter-release");
    assert.match(JSON.stringify(release.inputs.environment), /python manage\.py migrate --noinput/);
    assert.ok(g.waitsFor(web, release), "web waits for the migrations");
    assert.ok(isSecretAt(release, "environment"));
});

test("django-postgres: the database publishes nothing and sits on its own internal network", async () => {
    const g = await example("django-postgres");
    assertOnlyEdgePublishes(g, "counter-host");
    const db = g.one(CONTAINER, "counter-db-container");
    assert.equal(db.inputs.ports, undefined);
    assert.deepEqual(networksOf(db), ["counter-db-net"]);
    assert.equal(g.one(NETWORK, "counter-db-net").inputs.internal, true);
    assert.deepEqual(networksOf(g.one(CONTAINER, "counter-web-1")).sort(), ["counter-db-net", "counter-host-edge"]);
});

test("django-postgres: the vhost proxies counter.localhost to the app's alias and port, self-signed by default", async () => {
    const g = await example("django-postgres");
    const conf = vhostConfig(g, "counter");
    assert.match(conf, /server_name counter\.localhost;/);
    assert.match(conf, /set \$upstream http:\/\/dropyard_counter;/);
    assert.match(conf, /return 301 https:\/\/\$host\$request_uri;/);
    assert.equal(g.ofType("dropyard:index:LetsEncrypt").length, 0);
    assert.equal(g.ofType("tls:index/selfSignedCert:SelfSignedCert").length, 1);
});

test("django-postgres: acmeServer asks that CA through LetsEncrypt, with a private CA bundle", async () => {
    const g = await example("django-postgres", {
        acmeServer: "https://pebble.test:14000/dir",
        acmeEmail: "ops@example.com",
        acmeCaBundle: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n",
    });
    const issue = g.one(LOCAL_COMMAND, "counter-cert-issue");
    assert.match(issue.inputs.create, /'--server' 'https:\/\/pebble\.test:14000\/dir'/);
    assert.ok(g.waitsFor(g.one(LOCAL_COMMAND, "counter-config"), issue), "the vhost waits for its certificate");
});

test("wordpress-mariadb: WORDPRESS_DB_* come from the linked MariaDB, the password secret; wp-content on a volume", async () => {
    const g = await example("wordpress-mariadb");
    const web = g.one(CONTAINER, "wordpress-web-1");
    const env = envOf(web);
    assert.equal(env.WORDPRESS_DB_HOST, "wordpress-db:3306");
    assert.equal(env.WORDPRESS_DB_NAME, "wordpress");
    assert.equal(env.WORDPRESS_DB_USER, "wordpress");
    const dbEnv = envOf(g.one(CONTAINER, "wordpress-db-container"));
    assert.equal(env.WORDPRESS_DB_PASSWORD, dbEnv.MARIADB_PASSWORD);
    assert.ok(isSecretAt(web, "envs"));
    assert.match(env.WORDPRESS_CONFIG_EXTRA, /HTTP_X_FORWARDED_PROTO/);

    const volume = g.one(VOLUME, "wordpress-volume-wp-content");
    assert.match(JSON.stringify(web.inputs.volumes ?? web.inputs.mounts), /\/var\/www\/html\/wp-content/);
    assert.match(JSON.stringify(web.inputs.volumes ?? web.inputs.mounts), new RegExp(volume.inputs.name));
    assertOnlyEdgePublishes(g, "wordpress-host");
});

test("wordpress-mariadb: the vhost allows 64m uploads and proxies to WordPress on port 80", async () => {
    const g = await example("wordpress-mariadb");
    const conf = vhostConfig(g, "wordpress");
    assert.match(conf, /client_max_body_size 64m;/);
    assert.match(conf, /set \$upstream http:\/\/dropyard_wordpress;/);
});

test("notes-two-nets: notes is never on authnet, userauth is on both and off the edge, databases split", async () => {
    const g = await example("notes-two-nets");
    const notes = networksOf(g.one(CONTAINER, "notes-web-1"));
    const userauth = networksOf(g.one(CONTAINER, "userauth-web-1"));
    assert.ok(!notes.includes("authnet"), `notes is on ${notes.join(", ")}`);
    assert.ok(notes.includes("frontnet") && notes.includes("notes-host-edge"));
    assert.deepEqual(userauth.sort(), ["authnet", "frontnet"]);
    assert.deepEqual(networksOf(g.one(CONTAINER, "db-notes-container")), ["frontnet"]);
    assert.deepEqual(networksOf(g.one(CONTAINER, "db-userauth-container")), ["authnet"]);
    assertOnlyEdgePublishes(g, "notes-host");
});

test("notes-two-nets: each service gets its own database's credentials as secrets, and notes is the served upstream", async () => {
    const g = await example("notes-two-nets");
    const notes = g.one(CONTAINER, "notes-web-1");
    const userauth = g.one(CONTAINER, "userauth-web-1");
    assert.equal(envOf(notes).DB_HOST, "db-notes");
    assert.equal(envOf(userauth).DB_HOST, "db-userauth");
    assert.ok(isSecretAt(notes, "envs") && isSecretAt(userauth, "envs"));
    assert.equal(envOf(notes).USERAUTH_API_KEY, envOf(userauth).USERAUTH_API_KEY);
    assert.match(vhostConfig(g, "notes"), /set \$upstream http:\/\/dropyard_notes;/);
});

test("every example evaluates to identical inputs twice (a second pulumi up changes nothing)", async () => {
    for (const name of ["django-postgres", "wordpress-mariadb", "notes-two-nets"]) {
        const strip = (g: Graph) => g.resources.map(r => [r.key, r.inputs]);
        assert.deepEqual(strip(await example(name)), strip(await example(name)), name);
    }
});

test("flask-staging-production: the app stacks attach to the infra stack's host; each has its own db, domain and secret", async () => {
    const infraEntry = path.join(EXAMPLES, "flask-staging-production", "infra", "index.ts");
    delete require.cache[require.resolve(infraEntry)];
    const infra = await evaluate(() => require(infraEntry), { project: "flask-infra", stack: "main" });
    assertOnlyEdgePublishes(infra, "flask-host");
    const appEntry = path.join(EXAMPLES, "flask-staging-production", "app", "index.ts");
    const deploy = (stack: string, domain: string) => {
        delete require.cache[require.resolve(appEntry)];
        return evaluate(() => (require(appEntry) as () => Promise<unknown>)(), {
            project: "flask-notes",
            stack,
            config: { domain, infraStack: "organization/flask-infra/main" },
            outputs: a =>
                a.type === "pulumi:pulumi:StackReference"
                    ? { name: a.inputs.name, outputs: infra.outputs, secretOutputNames: [] }
                    : fakeOutputs(a),
        });
    };
    const staging = await deploy("staging", "staging.notes.localhost");
    const production = await deploy("production", "notes.localhost");
    for (const [g, env, domain] of [
        [staging, "staging", "staging.notes.localhost"],
        [production, "production", "notes.localhost"],
    ] as const) {
        assert.equal(g.one("pulumi:pulumi:StackReference").inputs.name, "organization/flask-infra/main");
        assert.deepEqual(
            g.ofType(CONTAINER).filter(c => c.name.includes("nginx")),
            [],
            `${env}: no edge of its own`,
        );
        const web = g.one(CONTAINER, `notes-${env}-web-1`);
        const worker = g.one(CONTAINER, `notes-${env}-worker`);
        for (const c of [web, worker]) {
            assert.match(envOf(c).DATABASE_URL, new RegExp(`@notes-${env}-db:5432/notes$`));
            assert.equal(envOf(c).APP_ENV, env);
            assert.ok(isSecretAt(c, "envs"));
        }
        assert.deepEqual(worker.inputs.command.slice(-1), ["exec python -m notes.worker"]);
        assert.match(vhostConfig(g, `notes-${env}`), new RegExp(`server_name ${domain.replace(/\./g, "\\.")};`));
        assert.ok(g.one("command:local:Command", `notes-${env}-release`));
    }
    assert.notEqual(
        envOf(staging.one(CONTAINER, "notes-staging-web-1")).SECRET_KEY,
        envOf(production.one(CONTAINER, "notes-production-web-1")).SECRET_KEY,
    );
});
