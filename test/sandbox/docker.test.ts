// The sandbox's Docker client, without an engine: how an endpoint becomes dockerode's options (unix
// socket, tcp, tcp with mutual TLS from options or from DOCKER_CERT_PATH), log demultiplexing, and
// how an image name splits for `docker tag`.
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { demux, dockerOptions, Engine } from "../../sandbox/docker";
import { splitReference } from "../../sandbox/resources";

describe("docker endpoints", () => {
    test("no host and no DOCKER_HOST: the default unix socket", () => {
        assert.deepEqual(dockerOptions(undefined, undefined, {}), { socketPath: "/var/run/docker.sock" });
    });

    test("DOCKER_HOST is used when no host is given; a given host wins", () => {
        assert.deepEqual(dockerOptions(undefined, undefined, { DOCKER_HOST: "unix:///run/other.sock" }), {
            socketPath: "/run/other.sock",
        });
        assert.deepEqual(dockerOptions("unix:///a.sock", undefined, { DOCKER_HOST: "unix:///b.sock" }), {
            socketPath: "/a.sock",
        });
    });

    test("tcp without TLS is plain http, port 2375 by default", () => {
        assert.deepEqual(dockerOptions("tcp://10.0.0.5", undefined, {}), {
            protocol: "http",
            host: "10.0.0.5",
            port: 2375,
        });
        assert.deepEqual(dockerOptions("tcp://[2001:db8::1]:2380", undefined, {}), {
            protocol: "http",
            host: "2001:db8::1",
            port: 2380,
        });
    });

    test("tcp with a CA, a certificate and a key is mutual TLS, port 2376 by default", () => {
        const tls = { ca: "CA PEM", cert: "CERT PEM", key: "KEY PEM" };
        assert.deepEqual(dockerOptions("tcp://203.0.113.10", tls, {}), {
            protocol: "https",
            host: "203.0.113.10",
            port: 2376,
            ca: "CA PEM",
            cert: "CERT PEM",
            key: "KEY PEM",
        });
    });

    test("DOCKER_TLS_VERIFY takes ca.pem, cert.pem and key.pem from DOCKER_CERT_PATH, as the CLI does", () => {
        const dir = mkdtempSync(join(tmpdir(), "docker-certs-"));
        try {
            for (const f of ["ca", "cert", "key"]) writeFileSync(join(dir, `${f}.pem`), `${f} pem`);
            const o = dockerOptions(undefined, undefined, {
                DOCKER_HOST: "tcp://droplet.example:2376",
                DOCKER_TLS_VERIFY: "1",
                DOCKER_CERT_PATH: dir,
            });
            assert.equal(o.protocol, "https");
            assert.equal(o.host, "droplet.example");
            assert.equal(o.port, 2376);
            assert.deepEqual([o.ca, o.cert, o.key].map(String), ["ca pem", "cert pem", "key pem"]);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    test("anything else is refused, naming the two forms", () => {
        assert.throws(() => dockerOptions("ssh://root@host", undefined, {}), {
            message: 'docker host "ssh://root@host" is neither unix://<socket path> nor tcp://<host>:<port>',
        });
    });

    test("Engine.local takes local sockets only", () => {
        assert.throws(() => Engine.local("tcp://127.0.0.1:2376"), /is not the local engine/);
        assert.equal(Engine.local("unix:///tmp/x.sock").socketPath, "/tmp/x.sock");
        assert.equal(Engine.connect("tcp://127.0.0.1:2376", { ca: "a", cert: "b", key: "c" }).socketPath, "");
    });
});

describe("the engine behind a docker provider", () => {
    test("a unix socket is the local engine", () => {
        assert.equal(Engine.forProvider({ host: "unix:///tmp/y.sock" }).socketPath, "/tmp/y.sock");
    });

    test("tcp:// needs the CA, the client certificate and its key, and then speaks https to 2376", () => {
        assert.throws(() => Engine.forProvider({ host: "tcp://192.0.2.7:2376" }), /only with mutual TLS/);
        assert.throws(
            () => Engine.forProvider({ host: "tcp://192.0.2.7:2376", caMaterial: "a", certMaterial: "b" }),
            /only with mutual TLS/,
        );
        const e = Engine.forProvider({
            host: "tcp://192.0.2.7:2376",
            caMaterial: "a",
            certMaterial: "b",
            keyMaterial: "c",
        });
        assert.deepEqual(
            { ...e.options },
            { protocol: "https", host: "192.0.2.7", port: 2376, ca: "a", cert: "b", key: "c" },
        );
        // One client per endpoint and material: the same inputs give the same engine, other material another.
        assert.equal(
            Engine.forProvider({ host: "tcp://192.0.2.7:2376", caMaterial: "a", certMaterial: "b", keyMaterial: "c" }),
            e,
        );
        assert.notEqual(
            Engine.forProvider({ host: "tcp://192.0.2.7:2376", caMaterial: "a", certMaterial: "b", keyMaterial: "d" }),
            e,
        );
    });
});

describe("docker logs and names", () => {
    const frame = (stream: number, text: string) => {
        const head = Buffer.alloc(8);
        head[0] = stream;
        head.writeUInt32BE(Buffer.byteLength(text), 4);
        return Buffer.concat([head, Buffer.from(text)]);
    };

    test("multiplexed logs split into stdout and stderr; a TTY's plain text is stdout", () => {
        assert.deepEqual(demux(Buffer.concat([frame(1, "out 1\n"), frame(2, "err 1\n"), frame(1, "out 2\n")])), {
            stdout: "out 1\nout 2\n",
            stderr: "err 1\n",
        });
        assert.deepEqual(demux(Buffer.from("plain tty text\n")), { stdout: "plain tty text\n", stderr: "" });
        assert.deepEqual(demux(Buffer.alloc(0)), { stdout: "", stderr: "" });
    });

    test("an image name splits into repository and tag as docker tag splits it", () => {
        assert.deepEqual(splitReference("counter-web:abc123"), { repo: "counter-web", tag: "abc123" });
        assert.deepEqual(splitReference("localhost:5000/team/app"), { repo: "localhost:5000/team/app", tag: "latest" });
        assert.deepEqual(splitReference("localhost:5000/team/app:v2"), { repo: "localhost:5000/team/app", tag: "v2" });
    });
});
