// Every bad argument is a ConfigError at construction, before anything is registered: wrong
// runtime types (JavaScript stacks, `as any`, config values), paths and addresses, and names two
// components would both create on one host. One test per case, each asserting the exact message.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { evaluate, Graph } from "../../sandbox/harness";
import { rejectsBeforeCreating } from "../support/helpers";
import { App, BridgeNet, ConfigError, Host, LetsEncrypt, MariaDB, NginxVhost, Postgres } from "../../lib";
import { claimedNames } from "../../lib/claims";
import { CONTAINER, IMAGE, NETWORK, VOLUME } from "../support/types";
import { FAKE_SSH_KEY, appDir, localHost } from "../support/fixtures";

const webDir = (files: Record<string, string> = {}) => appDir({ Procfile: "web: node server.js\n", ...files });

const box = () => localHost("box", { dataDir: "/srv/dy" });
/** Untyped, as a JavaScript stack or a config value would give it. */
const loose = (v: unknown) => v as any;

/** `make(host)` throws exactly `message` and `component "name"` was never registered. */
function rejects(component: string, name: string, make: (host: Host) => unknown, message: string): Promise<void> {
    return rejectsBeforeCreating(component, name, () => make(box()), message);
}

/**
 * For a second component of the same name as the first: `second` throws exactly `message` and the
 * program registers exactly what `first` alone registers.
 */
async function secondAddsNothing(first: () => unknown, second: () => unknown, message: string): Promise<void> {
    const keys = (g: Graph) => g.resources.map(r => r.key).sort();
    const alone = await evaluate(first);
    const both = await evaluate(() => {
        first();
        assert.throws(
            second,
            (e: unknown) => e instanceof ConfigError && e.message === message,
            "did not throw the message",
        );
    });
    assert.deepEqual(keys(both), keys(alone));
}

/** A Host's constructor throws exactly `message`, and no Host was registered. */
function hostRejects(args: unknown, message: string, name = "box"): Promise<void> {
    return rejectsBeforeCreating("Host", name, () => new Host(name, loose(args)), message);
}

// --- values of the wrong type ------------------------------------------------------------------

test("types: a number where a version string belongs says so, not 'use one of … 17 …'", () =>
    rejects(
        "Postgres",
        "db",
        h => new Postgres("db", { host: h, version: loose(17) }),
        'Postgres "db": version is the number 17, not a string; write it as a string: "17"',
    ));

test("types: MariaDB's version as a number", () =>
    rejects(
        "MariaDB",
        "db",
        h => new MariaDB("db", { host: h, version: loose(10.11) }),
        'MariaDB "db": version is the number 10.11, not a string; write it as a string: "10.11"',
    ));

test("types: a string of domains where a list belongs is not split into characters", () =>
    rejects(
        "LetsEncrypt",
        "cert",
        h =>
            new LetsEncrypt("cert", {
                host: h,
                domains: loose("a.example.com,b.example.com"),
                email: "ops@example.com",
            }),
        'LetsEncrypt "cert": domains is the string "a.example.com,b.example.com", not a list of strings; give a list of strings',
    ));

test("types: undefined inside a list names its index", () =>
    rejects(
        "NginxVhost",
        "site",
        h =>
            new NginxVhost("site", {
                host: h,
                domains: ["a.example.com", loose(undefined)],
                upstream: { name: "web", port: 80 },
            }),
        'NginxVhost "site": domains[1] is undefined, not a string; give a string',
    ));

test("types: undefined inside a map names its key", () =>
    rejects(
        "App",
        "web",
        h => new App("web", { host: h, image: "nginx:1.30", env: { FOO: loose(undefined) } }),
        'App "web": env.FOO is undefined, not a string; give a string',
    ));

test("types: a number in env is to be quoted", () =>
    rejects(
        "App",
        "web",
        h => new App("web", { host: h, image: "nginx:1.30", env: { WORKERS: loose(4) } }),
        'App "web": env.WORKERS is the number 4, not a string; write it as a string: "4"',
    ));

test("types: an Output is fine where the type allows Input (env, secrets, privateKey)", async () => {
    await evaluate(() => {
        const host = new Host("box", { server: { address: "203.0.113.20", privateKey: pulumi.secret("from config") } });
        new App("web", {
            host,
            image: "nginx:1.30",
            env: { A: pulumi.output("1") },
            secrets: { B: Promise.resolve("2") },
        });
    });
});

test("types: an Output where a plain value decides the shape", () =>
    hostRejects(
        { droplet: { region: pulumi.output("fra1") } },
        'Host "box": droplet.region is an Output (known only during deployment), not a string; give a string',
    ));

test("types: false for a target", () =>
    hostRejects(
        { local: true, droplet: false },
        'Host "box": droplet is false, not true or a DropletTarget object; give true or a DropletTarget object',
    ));

test("types: a number for droplet.size", () =>
    hostRejects(
        { droplet: { size: 2 } },
        'Host "box": droplet.size is the number 2, not a string; write it as a string: "2"',
    ));

test("types: a misspelt field is refused, not ignored", () =>
    hostRejects(
        { droplet: { sise: "s-2vcpu-4gb" } },
        'Host "box": droplet.sise is not an argument of droplet; use only region, size, image, tags, monitoring, backups, ipv6, allowSsh, allowDocker, swapMiB',
    ));

test("types: a string for a list of CIDRs", () =>
    hostRejects(
        { droplet: { allowSsh: "203.0.113.7/32" } },
        'Host "box": droplet.allowSsh is the string "203.0.113.7/32", not a list of strings; give a list of strings',
    ));

test("types: the edge's ports as strings", () =>
    hostRejects(
        { local: true, edge: { httpPort: "8080" } },
        'Host "box": edge.httpPort is the string "8080", not a number; give a number',
    ));

test("types: args missing altogether", () =>
    rejects(
        "Postgres",
        "db",
        () => new Postgres("db", loose(undefined)),
        'Postgres "db": args is undefined, not a PostgresArgs object ({ host, ... }); give a PostgresArgs object ({ host, ... })',
    ));

test("types: a required field missing", () =>
    rejects(
        "NginxVhost",
        "site",
        h => new NginxVhost("site", loose({ host: h })),
        'NginxVhost "site": upstream is missing; give an App or { name, port }',
    ));

test("types: an object where a string belongs", () =>
    rejects(
        "App",
        "web",
        h => new App("web", { host: h, image: loose({ name: "nginx" }) }),
        'App "web": image is an object, not a string; give a string',
    ));

test("types: a string where an upstream belongs", () =>
    rejects(
        "NginxVhost",
        "site",
        h => new NginxVhost("site", { host: h, upstream: loose("web") }),
        'NginxVhost "site": upstream is the string "web", not an App or { name, port }; give an App or { name, port }',
    ));

test("types: an upstream port given as a string", () =>
    rejects(
        "NginxVhost",
        "site",
        h => new NginxVhost("site", { host: h, upstream: { name: "web", port: loose("80") } }),
        'NginxVhost "site": upstream.port is the string "80", not a number; give a number',
    ));

test("types: a tls that is none of the three", () =>
    rejects(
        "NginxVhost",
        "site",
        h =>
            new NginxVhost("site", {
                host: h,
                domains: ["a.example.com"],
                upstream: { name: "web", port: 80 },
                tls: loose("selfsigned"),
            }),
        'NginxVhost "site": tls is the string "selfsigned", not a LetsEncrypt, "self-signed" or { cert, key }; give a LetsEncrypt, "self-signed" or { cert, key }',
    ));

test("types: processes as a list", () =>
    rejects(
        "App",
        "web",
        h => new App("web", { host: h, image: "nginx:1.30", processes: loose(["web: nginx"]) }),
        'App "web": processes is a list, not a map of strings; give a map of strings',
    ));

test("types: a healthcheck command list with a number in it", () =>
    rejects(
        "App",
        "web",
        h => new App("web", { host: h, image: "nginx:1.30", healthcheck: { command: loose(["curl", 5]) } }),
        'App "web": healthcheck.command[1] is the number 5, not a string; write it as a string: "5"',
    ));

test("types: healthcheck true", () =>
    rejects(
        "App",
        "web",
        h => new App("web", { host: h, image: "nginx:1.30", healthcheck: loose(true) }),
        'App "web": healthcheck is true, not false or an AppHealthcheck object; give false or an AppHealthcheck object',
    ));

test("types: link given one database rather than a list", () =>
    rejects(
        "App",
        "web",
        h => new App("web", { host: h, image: "nginx:1.30", link: loose(new Postgres("db", { host: h })) }),
        'App "web": link is a Postgres, not a list of databases; pass an array of Postgres or MariaDB, e.g. link: [db]',
    ));

test("types: a BridgeNet's internal as a string", () =>
    rejects(
        "BridgeNet",
        "front",
        h => new BridgeNet("front", { host: h, internal: loose("true") }),
        'BridgeNet "front": internal is the string "true", not true or false; give true or false',
    ));

test("types: dns without its zone", () =>
    rejects(
        "LetsEncrypt",
        "cert",
        h =>
            new LetsEncrypt("cert", {
                host: h,
                domains: ["a.example.com"],
                email: "ops@example.com",
                dns: loose({ ttl: 60 }),
            }),
        'LetsEncrypt "cert": dns.zone is missing; give a string',
    ));

test("types: a name that is not a string", () =>
    rejects(
        "BridgeNet",
        "7",
        h => new BridgeNet(loose(7), { host: h }),
        'BridgeNet "7": name is the number 7, not a string; write it as a string: "7"',
    ));

test("types: a host command's script as a number", async () => {
    await evaluate(() => {
        const host = box();
        assert.throws(() => host.command("x", { create: loose(1) }), {
            message: 'Host "box": command("x").create is the number 1, not a string; write it as a string: "1"',
        });
    });
});

// --- paths and addresses -------------------------------------------------------------------------

test("paths: build naming a file rather than a directory", () => {
    const file = path.join(webDir(), "Dockerfile");
    return rejects(
        "App",
        "web",
        h => new App("web", { host: h, build: file }),
        `App "web": build "${file}" is a file, not a directory; point build at the directory holding the Dockerfile, not at a file in it`,
    );
});

test("paths: a volume at the container's root", () =>
    rejects(
        "App",
        "web",
        h => new App("web", { host: h, image: "nginx:1.30", volumes: { data: "/" } }),
        'App "web": volumes.data path "/" is the container\'s root, where Docker cannot mount a volume; mount at a directory such as /data',
    ));

test("paths: two volumes at one directory once a trailing slash is dropped", () =>
    rejects(
        "App",
        "web",
        h => new App("web", { host: h, image: "nginx:1.30", volumes: { a: "/data", b: "/data/" } }),
        'App "web": volumes.b mounts at "/data/", the same directory as volumes.a; mount each volume at its own path',
    ));

test("paths: a relative volume path", () =>
    rejects(
        "App",
        "web",
        h => new App("web", { host: h, image: "nginx:1.30", volumes: { data: "data" } }),
        'App "web": volumes.data path "data" is not absolute; mount at a path in the container starting with /',
    ));

test("paths: a volume path with a colon", () =>
    rejects(
        "App",
        "web",
        h => new App("web", { host: h, image: "nginx:1.30", volumes: { data: "/data:ro" } }),
        'App "web": volumes.data path "/data:ro" contains a colon, comma or white space, which Docker\'s mount syntax cannot carry; use a path without them',
    ));

test("addresses: a dockerHost without a scheme", () =>
    hostRejects(
        { local: { dockerHost: "/var/run/docker.sock" } },
        'Host "box": local.dockerHost "/var/run/docker.sock" is not a Docker endpoint; give a URL with its scheme, e.g. unix:///var/run/docker.sock, tcp://127.0.0.1:2375, ssh://user@host or npipe:////./pipe/docker_engine',
    ));

test("addresses: a server without privateKey", () =>
    hostRejects(
        { server: { address: "203.0.113.20" } },
        'Host "box": server.privateKey is missing; give a string (or an Output of one)',
    ));

test("addresses: a server key that is visibly not a private key (a public key)", () =>
    hostRejects(
        { server: { address: "203.0.113.20", privateKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA ops@laptop" } },
        'Host "box": server.privateKey is not a private key (it has no -----BEGIN ... PRIVATE KEY----- block); give the private key file\'s whole text (OpenSSH or PEM), not a path, a public key or a fingerprint',
    ));

test("addresses: a server key given as a path", () =>
    hostRejects(
        { server: { address: "203.0.113.20", privateKey: "~/.ssh/id_ed25519" } },
        'Host "box": server.privateKey is not a private key (it has no -----BEGIN ... PRIVATE KEY----- block); give the private key file\'s whole text (OpenSSH or PEM), not a path, a public key or a fingerprint',
    ));

test("addresses: a real-looking key passes", async () => {
    await evaluate(() => new Host("box", { server: { address: "203.0.113.20", privateKey: FAKE_SSH_KEY } }));
});

// --- messages that say what is wrong ---------------------------------------------------------------

test("processes: none at all is not 'only a release process'", () =>
    rejects(
        "App",
        "web",
        h => new App("web", { host: h, image: "nginx:1.30", web: false, processes: {} }),
        'App "web": processes has no process types; add the processes to run, e.g. worker: <command>',
    ));

test("Procfile: only comments is not 'only a release process'", () => {
    const dir = webDir({ Procfile: "# nothing yet\n" });
    return rejects(
        "App",
        "web",
        h => new App("web", { host: h, build: dir, web: false }),
        'App "web": Procfile has no process types; add the processes to run, e.g. worker: <command>',
    );
});

// --- names two components would both create ----------------------------------------------------------

test("collision: an App volume on a database's data volume (removing the App would delete the data)", () =>
    rejects(
        "App",
        "db",
        h => {
            new Postgres("db", { host: h });
            new App("db", { host: h, image: "nginx:1.30", web: false, volumes: { data: "/data" } });
        },
        'App "db": volumes.data would create Docker volume "db-data", which Postgres "db" already uses; pick another key or name',
    ));

test("collision: a database on an App's volume", () =>
    rejects(
        "Postgres",
        "db",
        h => {
            new App("db", { host: h, image: "nginx:1.30", web: false, volumes: { data: "/data" } });
            new Postgres("db", { host: h });
        },
        'Postgres "db": name would create Docker volume "db-data", which App "db" already uses; pick another name',
    ));

test("collision: a database taking the edge's container name", () =>
    rejects(
        "MariaDB",
        "box-nginx",
        h => new MariaDB("box-nginx", { host: h }),
        'MariaDB "box-nginx": name would create Docker container name "box-nginx", which Host "box" already uses; pick another name',
    ));

test("collision: an App answering to a database's name", () =>
    rejects(
        "App",
        "db",
        h => {
            new Postgres("db", { host: h });
            new App("db", { host: h, image: "nginx:1.30" });
        },
        'App "db": name would create Docker container name "db" (its web containers\' alias), which Postgres "db" already uses; pick another name',
    ));

test("collision: two BridgeNets with one networkName", () =>
    rejects(
        "BridgeNet",
        "b",
        h => {
            new BridgeNet("a", { host: h, networkName: "shared" });
            new BridgeNet("b", { host: h, networkName: "shared" });
        },
        'BridgeNet "b": networkName would create Docker network "shared", which BridgeNet "a" already uses; pick another networkName',
    ));

test("collision: a BridgeNet on a database's own network", () =>
    rejects(
        "BridgeNet",
        "db-net",
        h => {
            new Postgres("db", { host: h });
            new BridgeNet("db-net", { host: h });
        },
        'BridgeNet "db-net": name would create Docker network "db-net", which Postgres "db" already uses; pick another name, or set networkName',
    ));

test("collision: a BridgeNet on the host's edge network", () =>
    rejects(
        "BridgeNet",
        "edge",
        h => new BridgeNet("edge", { host: h, networkName: "box-edge" }),
        'BridgeNet "edge": networkName would create Docker network "box-edge", which Host "box" already uses; pick another networkName',
    ));

test("collision: two Apps of one name build one image", () => {
    const dir = webDir();
    let h: Host;
    return secondAddsNothing(
        () => {
            h = box();
            new App("web", { host: h, build: dir });
        },
        () => new App("web", { host: h, build: dir }),
        'App "web": build would create Docker image "dropyard/box-web:latest", which App "web" already uses; pick another name',
    );
});

test("collision: two vhosts of one name write one conf file", () => {
    let h: Host;
    return secondAddsNothing(
        () => {
            h = box();
            new NginxVhost("site", { host: h, domains: ["a.example.com"], upstream: { name: "web", port: 80 } });
        },
        () => new NginxVhost("site", { host: h, domains: ["b.example.com"], upstream: { name: "web", port: 80 } }),
        'NginxVhost "site": name would create file "/srv/dy/nginx/conf.d/vhost-site.conf", which NginxVhost "site" already uses; pick another name',
    );
});

test("collision: one domain on two vhosts of a host", () =>
    rejects(
        "NginxVhost",
        "b",
        h => {
            new NginxVhost("a", { host: h, domains: ["a.example.com"], upstream: { name: "web", port: 80 } });
            new NginxVhost("b", { host: h, domains: ["a.example.com"], upstream: { name: "web", port: 80 } });
        },
        'NginxVhost "b": domains[0] would serve domain "a.example.com", which NginxVhost "a" already serves; serve each name from one vhost',
    ));

test("collision: two certificates whose cron files would be one", () =>
    rejects(
        "LetsEncrypt",
        "b",
        h => {
            new LetsEncrypt("a", { host: h, domains: ["a.example.com"], email: "ops@example.com", autoRenew: true });
            new LetsEncrypt("b", { host: h, domains: ["a-example.com"], email: "ops@example.com", autoRenew: true });
        },
        'LetsEncrypt "b": domains[0] would create file "/etc/cron.d/dropyard-box-a-example-com", which LetsEncrypt "a" already uses; put all the names on one certificate, or start this one with a different name, or set autoRenew: false',
    ));

test("collision: two hosts of one name", () =>
    secondAddsNothing(
        () => localHost("prod"),
        () => new Host("prod", { droplet: true }),
        'Host "prod": name would create host "prod", which Host "prod" already uses; give each host its own name',
    ));

test("collision: two local hosts on one data directory", () =>
    rejectsBeforeCreating(
        "Host",
        "b",
        () => {
            localHost("a", { dataDir: "/srv/dy" });
            localHost("b", { dataDir: "/srv/dy/" });
        },
        'Host "b": dataDir would use data directory "/srv/dy", which Host "a" already uses; give each host on one machine its own dataDir',
    ));

test("collision: two hosts on one Docker engine share its names", () => {
    let b: Host;
    return secondAddsNothing(
        () => {
            const a = new Host("a", { local: true, dataDir: "/srv/a", edge: { httpPort: 8080, httpsPort: 8443 } });
            b = localHost("b", { dataDir: "/srv/b" });
            new App("web", { host: a, image: "nginx:1.30", volumes: { data: "/data" } });
        },
        () => new App("web", { host: b, image: "nginx:1.30", volumes: { data: "/data" } }),
        'App "web": volumes.data would create Docker volume "web-data", which App "web" already uses; pick another key or name',
    );
});

test("collision: two hosts on one Docker engine publishing their edges on the same port", () =>
    rejectsBeforeCreating(
        "Host",
        "b",
        () => {
            localHost("a");
            new Host("b", { local: true, edge: { httpsPort: 8443 } });
        },
        'Host "b": edge.httpPort would publish host port "127.0.0.1:80", which Host "a" already publishes; publish this host\'s edge on other ports or addresses (edge.httpPort, edge.httpsPort, edge.bindAddresses)',
    ));

test("collision: hosts on different engines keep separate names", async () => {
    await evaluate(() => {
        const a = localHost("a");
        const b = new Host("b", { server: { address: "203.0.113.20", privateKey: FAKE_SSH_KEY } });
        new Postgres("db", { host: a });
        new Postgres("db-b", { host: b });
        new App("web", { host: a, image: "nginx:1.30", volumes: { data: "/data" } });
        new App("web", { host: b, image: "nginx:1.30", volumes: { data: "/data" } });
    });
});

test("claims are all or nothing: a component refused for one name leaves none of its names claimed", async () => {
    await evaluate(() => {
        const h = box();
        new Postgres("db", { host: h });
        assert.throws(
            () =>
                new App("db", { host: h, image: "nginx:1.30", web: false, volumes: { logs: "/logs", data: "/data" } }),
            ConfigError,
        );
        // db-logs and the app label "db" were not kept by the refused App.
        new App("db", { host: h, image: "nginx:1.30", web: false, volumes: { logs: "/logs" } });
        assert.deepEqual(
            claimedNames(h)
                .filter(c => c.name === "db-logs")
                .map(c => c.owner),
            ['App "db"'],
        );
    });
});

test("claims cover every fixed Docker name the components create", async () => {
    let host: Host | undefined;
    const dir = appDir({ Procfile: "web: node server.js\nworker: node worker.js\nrelease: node migrate.js\n" });
    const g = await evaluate(() => {
        const h = (host = localHost("box", { dataDir: "/srv/dy" }));
        const front = new BridgeNet("front", { host: h });
        const pg = new Postgres("pg", { host: h });
        new MariaDB("maria", { host: h, networks: [front] });
        const app = new App("web", {
            host: h,
            build: dir,
            link: [pg],
            networks: [front],
            volumes: { uploads: "/uploads" },
        });
        const cert = new LetsEncrypt("cert", {
            host: h,
            domains: ["a.example.com"],
            email: "ops@example.com",
            autoRenew: true,
        });
        new NginxVhost("site", { host: h, domains: ["a.example.com"], upstream: app, tls: cert });
        new NginxVhost("own", { host: h, domains: ["b.example.com"], upstream: app, tls: "self-signed" });
    });
    const claimed = new Set(claimedNames(host!).map(c => `${c.kind} ${c.name}`));
    const fixed = [
        ...g
            .ofType(CONTAINER)
            .filter(r => r.inputs.name !== undefined)
            .map(r => `container ${r.inputs.name}`),
        ...g.ofType(VOLUME).map(r => `volume ${r.inputs.name}`),
        ...g.ofType(NETWORK).map(r => `network ${r.inputs.name}`),
        ...g.ofType(IMAGE).map(r => `image ${r.inputs.imageName}`),
    ];
    assert.ok(fixed.length >= 8, fixed.join(", "));
    for (const f of fixed) assert.ok(claimed.has(f), `${f} is created but not claimed`);
    // Files under the data directory written by host commands are claimed too.
    for (const f of [
        "/srv/dy/nginx/conf.d/00-dropyard.conf",
        "/srv/dy/nginx/conf.d/vhost-site.conf",
        "/srv/dy/nginx/conf.d/upstream-web.conf",
        "/srv/dy/certs/own",
        "/srv/dy/letsencrypt/live/a.example.com",
        "/etc/cron.d/dropyard-box-a-example-com",
    ]) {
        assert.ok(claimed.has(`file ${f}`), `${f} is not claimed`);
    }
});
