// One host, many stacks: a host stack exports `host.exported`; app stacks attach with Host.fromStack
// (through a StackReference) and run every component there without creating the host's edge.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { evaluate, fakeOutputs, Graph, isSecretAt } from "../../sandbox/harness";
import { App, BridgeNet, ConfigError, Host, HostExport, LetsEncrypt, MariaDB, NginxVhost, Postgres } from "../../lib";

const T = {
    container: "docker:index/container:Container",
    network: "docker:index/network:Network",
    remoteImage: "docker:index/remoteImage:RemoteImage",
    provider: "pulumi:providers:docker",
    local: "command:local:Command",
    remote: "command:remote:Command",
    ref: "pulumi:pulumi:StackReference",
};

async function exportOf(args: ConstructorParameters<typeof Host>[1]): Promise<{ value: HostExport; secret: boolean }> {
    const g = await evaluate(() => ({ host: new Host("prod", args).exported }));
    return { value: g.outputs.host as HostExport, secret: g.secretOutputs.has("host") };
}

/** Runs `program` with every StackReference answering `outputs` (secret ones by name). */
function withStack(
    outputs: Record<string, unknown>,
    secret: string[],
    program: () => Promise<unknown>,
): Promise<Graph> {
    return evaluate(program, {
        outputs: a => (a.type === T.ref ? { name: a.inputs.name, outputs, secretOutputNames: secret } : fakeOutputs(a)),
    });
}

test("a local host exports one plain value: target, engine, data dir and its edge", async () => {
    const { value, secret } = await exportOf({ local: true, dataDir: "/srv/dy" });
    assert.equal(secret, false);
    assert.deepEqual(value, {
        dropyard: "host",
        version: 1,
        hostName: "prod",
        target: "local",
        dataDir: "/srv/dy",
        address: "127.0.0.1",
        dockerHost: "unix:///var/run/docker.sock",
        edge: {
            container: "prod-nginx",
            network: "prod-edge",
            httpPort: 80,
            httpsPort: 443,
            bindAddresses: ["127.0.0.1"],
        },
    });
});

test("a server host's export carries its SSH and Docker keys, so it is a secret", async () => {
    const { value, secret } = await exportOf({
        server: {
            address: "203.0.113.7",
            privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n",
        },
    });
    assert.equal(secret, true);
    assert.equal(value.ssh!.host, "203.0.113.7");
    assert.match(value.ssh!.privateKey, /OPENSSH PRIVATE KEY/);
    assert.match(value.docker!.keyPem, /PRIVATE KEY/);
    assert.equal(value.dockerHost, "tcp://203.0.113.7:2376");
});

test("every component runs on an attached host; the edge, its network and its image are the host stack's", async () => {
    const { value } = await exportOf({ local: true, dataDir: "/srv/dy" });
    let host: Host | undefined;
    const g = await withStack({ host: value }, [], async () => {
        host = await Host.fromStack("shared", "acme/infra/prod");
        const net = new BridgeNet("staging-net", { host });
        const db = new Postgres("staging-db", { host });
        const maria = new MariaDB("staging-maria", { host, networks: [net] });
        const app = new App("staging-web", { host, image: "python:3.13-slim", link: [db], networks: [net] });
        void maria;
        const cert = new LetsEncrypt("staging-cert", {
            host,
            domains: ["staging.example.com"],
            email: "ops@example.com",
        });
        new NginxVhost("staging", { host, domains: ["staging.example.com"], upstream: app, tls: cert });
        host.command("staging-hello", { create: "echo hello" });
    });
    assert.equal(host!.attached, true);
    assert.equal(host!.hostName, "prod", "names on the host come from the host's own name");
    assert.equal(g.one(T.ref).inputs.name, "acme/infra/prod");
    // Nothing of the host's own: no edge container, edge network, nginx image or edge setup.
    assert.deepEqual(
        g.ofType(T.container).filter(c => c.inputs.name === "prod-nginx"),
        [],
    );
    assert.deepEqual(
        g
            .ofType(T.network)
            .map(n => n.inputs.name)
            .sort(),
        ["staging-db-net", "staging-net"],
    );
    assert.deepEqual(
        g
            .ofType(T.remoteImage)
            .map(i => i.inputs.name)
            .filter(n => n.startsWith("nginx")),
        [],
    );
    assert.deepEqual(
        g.ofType(T.local).filter(c => c.name.endsWith("-edge-setup")),
        [],
    );
    // One provider, at the exported engine, used by every Docker object.
    assert.equal(g.one(T.provider).inputs.host, "unix:///var/run/docker.sock");
    for (const r of [...g.ofType(T.container), ...g.ofType(T.network)]) assert.equal(r.provider, g.one(T.provider).key);
    const web = g.ofType(T.container).find(c => c.name.startsWith("staging-web-web"))!;
    assert.ok(
        (web.inputs.networksAdvanced as { name: string }[]).some(n => n.name === "prod-edge"),
        "web joins the host's edge network",
    );
    // The vhost's file goes into the host's conf.d, tested and reloaded in the host's edge container.
    const config = g.one(T.local, "staging-config").inputs.create as string;
    assert.match(config, /edge='prod-nginx'/);
    assert.match(config, /\/srv\/dy\/nginx\/conf\.d\/vhost-staging\.conf/);
    assert.match(config, /nginx -s reload/);
    assert.doesNotMatch(config, /^\s*docker (run|start|restart|rm)\b/m, "the edge is only reloaded");
    assert.equal(g.one(T.local, "staging-hello").inputs.create, "echo hello");
});

test("an attached server host reaches the machine over SSH with the exported key, kept secret", async () => {
    const { value } = await exportOf({
        server: {
            address: "203.0.113.7",
            privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n",
        },
    });
    const g = await withStack({ host: value }, ["host"], async () => {
        const host = await Host.fromStack("shared", "acme/infra/prod");
        host.command("hello", { create: "echo hello" });
    });
    const cmd = g.one(T.remote, "hello");
    assert.equal(cmd.inputs.connection.host, "203.0.113.7");
    assert.equal(cmd.inputs.connection.privateKey, value.ssh!.privateKey);
    assert.ok(isSecretAt(cmd, "connection"), "the connection (with the key) is a secret");
    assert.equal(g.one(T.provider).inputs.host, "tcp://203.0.113.7:2376");
});

async function attachError(outputs: Record<string, unknown>): Promise<string> {
    let message = "";
    await withStack(outputs, [], async () => {
        await assert.rejects(Host.fromStack("shared", "acme/infra/prod"), (e: unknown) => {
            assert.ok(e instanceof ConfigError);
            message = e.message;
            return true;
        });
    });
    return message;
}

test("attaching to what is not a dropyard host, or to another format version, names the stack, the output and what was there", async () => {
    const { value } = await exportOf({ local: true });
    assert.equal(
        await attachError({ other: 1 }),
        'Host "shared": output "host" of stack "acme/infra/prod" is not a dropyard host (found nothing); export `host.exported` of a dropyard Host from that stack (e.g. `export const host = host.exported`)',
    );
    assert.equal(
        await attachError({ host: "203.0.113.7" }),
        'Host "shared": output "host" of stack "acme/infra/prod" is not a dropyard host (found the string "203.0.113.7"); export `host.exported` of a dropyard Host from that stack (e.g. `export const host = host.exported`)',
    );
    assert.equal(
        await attachError({ host: { ...value, version: 2 } }),
        'Host "shared": output "host" of stack "acme/infra/prod" is a dropyard host of format version 2; this dropyard reads version 1; use the same dropyard version in both projects',
    );
    assert.match(
        await attachError({ host: { ...value, edge: undefined } }),
        /is a damaged dropyard host \(edge is missing or wrong\)/,
    );
});
