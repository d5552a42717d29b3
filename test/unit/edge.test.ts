import { test } from "node:test";
import * as assert from "node:assert/strict";
import { evaluate } from "../../sandbox/harness";
import { ConfigError, Host, HostArgs } from "../../lib";
import { CONTAINER, LOCAL_COMMAND, NETWORK, REMOTE_COMMAND, REMOTE_IMAGE } from "../support/types";
import { localHost } from "../support/fixtures";
import { createHash } from "node:crypto";
import { renderEdgeMain } from "../../lib/render/nginx";

const local = (args: Partial<HostArgs> = {}) =>
    evaluate(() => {
        localHost("box", { dataDir: "/srv/dy", ...args });
    });

test("Host creates its edge: one nginx:1.30 container on the edge network, restarting, logs rotated", async () => {
    const g = await local();
    assert.equal(g.one(REMOTE_IMAGE, "box-edge-image").inputs.name, "nginx:1.30");
    const c = g.one(CONTAINER, "box-edge-nginx");
    assert.equal(c.inputs.name, "box-nginx");
    assert.equal(c.inputs.image, g.one(REMOTE_IMAGE).outputs.imageId);
    assert.equal(c.inputs.restart, "unless-stopped");
    assert.deepEqual(c.inputs.networksAdvanced, [{ name: "box-edge" }]);
    assert.ok(g.waitsFor(c, g.one(NETWORK, "box-edge")));
    assert.equal(c.inputs.logDriver, "json-file");
    assert.deepEqual(c.inputs.logOpts, { "max-size": "10m", "max-file": "3" });
    assert.equal(c.provider, "pulumi:providers:docker::box-docker");
    assert.equal(c.parent, "dropyard:index:Edge::box-edge");
    assert.equal(g.one("dropyard:index:Edge").parent, "dropyard:index:Host::box");
});

test("edge publishes 80 and 443, on loopback only for a local host", async () => {
    const c = (await local()).one(CONTAINER).inputs;
    assert.deepEqual(c.ports, [
        { internal: 80, external: 80, ip: "127.0.0.1" },
        { internal: 443, external: 443, ip: "127.0.0.1" },
    ]);
});

test("edge ports, addresses and image can be chosen", async () => {
    const g = await local({
        edge: { httpPort: 8080, httpsPort: 8443, bindAddresses: ["0.0.0.0", "::"], image: "nginx:1.27" },
    });
    assert.equal(g.one(REMOTE_IMAGE).inputs.name, "nginx:1.27");
    assert.deepEqual(g.one(CONTAINER).inputs.ports, [
        { internal: 80, external: 8080, ip: "0.0.0.0" },
        { internal: 443, external: 8443, ip: "0.0.0.0" },
        { internal: 80, external: 8080, ip: "::" },
        { internal: 443, external: 8443, ip: "::" },
    ]);
});

test("edge bind-mounts its nginx.conf, conf.d, certificates, letsencrypt (read-only) and the ACME webroot", async () => {
    const g = await local();
    const c = g.one(CONTAINER).inputs;
    assert.deepEqual(c.volumes, [
        { hostPath: "/srv/dy/nginx/nginx.conf", containerPath: "/etc/nginx/nginx.conf", readOnly: true },
        { hostPath: "/srv/dy/nginx/conf.d", containerPath: "/etc/nginx/conf.d", readOnly: true },
        { hostPath: "/srv/dy/certs", containerPath: "/etc/dropyard/certs", readOnly: true },
        { hostPath: "/srv/dy/letsencrypt", containerPath: "/etc/letsencrypt", readOnly: true },
        { hostPath: "/srv/dy/acme", containerPath: "/var/www/acme", readOnly: true },
    ]);
    // A new container when the nginx.conf changes (a file mount would keep the old file).
    const hash = c.labels.find((l: { label: string }) => l.label === "dev.dropyard.edge-config")?.value;
    assert.equal(hash, createHash("sha256").update(renderEdgeMain()).digest("hex"));
    assert.match(g.one(LOCAL_COMMAND, "box-edge-setup").inputs.create, /cat > '\/srv\/dy\/nginx\/nginx\.conf\.new'/);
    assert.match(renderEdgeMain(), /^events \{\n {4}worker_connections 8192;\n\}$/m);
    assert.match(renderEdgeMain(), /^worker_rlimit_nofile 16384;$/m);
});

test("edge: a host command makes the directories and writes the default server before the container starts", async () => {
    const g = await local();
    const setup = g.one(LOCAL_COMMAND, "box-edge-setup");
    const script: string = setup.inputs.create;
    assert.match(
        script,
        /mkdir -p '\/srv\/dy\/nginx\/conf\.d' '\/srv\/dy\/certs' '\/srv\/dy\/letsencrypt' '\/srv\/dy\/acme' '\/srv\/dy\/certbot'/,
    );
    assert.match(
        script,
        /cat > '\/srv\/dy\/nginx\/conf\.d\/00-dropyard\.conf\.new' <<'DROPYARD_EOF'\n# dropyard-owner: test\/dev\n# dropyard: the edge's defaults/,
    );
    assert.ok(g.waitsFor(g.one(CONTAINER), setup));
    assert.ok(!g.waitsFor(setup, g.one(CONTAINER)));
    // The local CLI talks to the engine the provider uses.
    assert.deepEqual(setup.inputs.environment, { DOCKER_HOST: "unix:///var/run/docker.sock" });
});

test("edge default server: ACME challenges for every name on 80, 444 otherwise, TLS handshakes refused on 443", async () => {
    const g = await local();
    const conf: string = g.one(LOCAL_COMMAND, "box-edge-setup").inputs.create;
    assert.match(
        conf,
        /listen 80 default_server;\n    server_name _;\n    access_log [^\n]*;\n\n    location \^~ \/\.well-known\/acme-challenge\/ \{\n        root \/var\/www\/acme;/,
    );
    assert.match(conf, /location \/ \{\n        return 444;/);
    assert.match(conf, /listen 443 ssl default_server;\n    server_name _;\n    ssl_reject_handshake on;/);
    // The websocket map lives here, once, at http level.
    assert.equal(conf.match(/map \$http_upgrade \$connection_upgrade/g)?.length, 1);
    // No upgrade, no Connection header: the connection to an App stays open (not "close").
    assert.match(conf, /map \$http_upgrade \$connection_upgrade \{\n\s+default upgrade;\n\s+'' +'';\n\}/);
});

test("edge: fixed name and published ports, so a replacement deletes the old container first", async () => {
    const c = (await local()).one(CONTAINER);
    assert.equal(c.options.deleteBeforeReplace, true);
});

test("edge on a droplet: published on every address, setup runs over SSH after the bootstrap", async () => {
    const g = await evaluate(() => {
        new Host("prod", { droplet: {} });
    });
    const c = g.one(CONTAINER, "prod-edge-nginx");
    assert.deepEqual(
        c.inputs.ports.map((p: { ip: string }) => p.ip),
        ["0.0.0.0", "0.0.0.0", "::", "::"],
    );
    assert.deepEqual(c.inputs.volumes[1], {
        hostPath: "/var/lib/dropyard/nginx/conf.d",
        containerPath: "/etc/nginx/conf.d",
        readOnly: true,
    });
    const setup = g.one(REMOTE_COMMAND, "prod-edge-setup");
    assert.ok(g.waitsFor(setup, g.one(REMOTE_COMMAND, "prod-bootstrap")));
    assert.doesNotMatch(setup.inputs.create, /DOCKER_HOST/);
});

const rejects = (args: Partial<HostArgs>, message: string) =>
    assert.throws(
        () => localHost("box", { ...args }),
        (e: unknown) => e instanceof ConfigError && e.message === message,
    );

test("edge: a port out of range is rejected by the Host before anything is made", () => {
    rejects(
        { edge: { httpPort: 0 } },
        'Host "box": edge.httpPort 0 is not a TCP port; use a whole number from 1 to 65535',
    );
});

test("edge: the same port for HTTP and HTTPS is rejected", () => {
    rejects(
        { edge: { httpsPort: 80 } },
        'Host "box": edge.httpsPort is the same as edge.httpPort (80); publish HTTP and HTTPS on different ports',
    );
});

test("edge: an image that is not an image reference is rejected", () => {
    rejects(
        { edge: { image: "nginx 1.26" } },
        'Host "box": edge.image "nginx 1.26" is not an image reference; use a name such as nginx:1.30',
    );
});

test("edge: an nginx older than 1.27.3 is rejected, newer and untagged ones pass", async () => {
    for (const image of ["nginx:1.26", "nginx:1.27.2-alpine", "docker.io/library/nginx:1.24.0"]) {
        const version = /:(\d+\.\d+(?:\.\d+)?)/.exec(image)![1];
        rejects(
            { edge: { image } },
            `Host "box": edge.image "${image}" is nginx ${version}, older than 1.27.3: Apps' upstream groups need its \`resolve\`; use nginx:1.30 or later, or leave edge.image out`,
        );
    }
    for (const image of [
        "nginx:1.27",
        "nginx:1.27.3",
        "nginx:1.30-alpine",
        "nginx:2.0",
        "nginx:stable",
        "example.com/nginx:1.20",
    ]) {
        const g = await local({ edge: { image } });
        assert.equal(g.one(REMOTE_IMAGE, "box-edge-image").inputs.name, image);
    }
});

test("edge: a bind address that is not an IP is rejected", () => {
    rejects(
        { edge: { bindAddresses: ["localhost"] } },
        'Host "box": edge.bindAddresses[0] "localhost" is not an IP address; use an address such as 127.0.0.1, 0.0.0.0 or ::',
    );
});
