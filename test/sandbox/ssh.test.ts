// The sandbox's SSH runner without a machine, on loopback only: a refused port and a listener that never speaks
// SSH each fail after the connection's dial limit, within its per-dial timeout, naming user, address and why; and
// the names a Docker Hub mirror is asked for. (The runner against a real sshd: test/e2e/machine*.test.ts.)
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as net from "node:net";
import { dialBackoffMs, sshRun } from "../../sandbox/lib/ssh";
import { hubPath } from "../../sandbox/registry";

/** A TCP listener on loopback that accepts and then says nothing; closed by the returned function. */
async function silentListener(): Promise<{ port: number; close: () => void; accepted: () => number }> {
    const sockets: net.Socket[] = [];
    const server = net.createServer(s => sockets.push(s));
    await new Promise<void>(r => server.listen(0, "127.0.0.1", r));
    return {
        port: (server.address() as net.AddressInfo).port,
        accepted: () => sockets.length,
        close: () => {
            sockets.forEach(s => s.destroy());
            server.close();
        },
    };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>(r => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise(r => server.close(r));
    return port;
}

describe("sandbox ssh: dialing as remote.Command does", () => {
    test("a refused port fails after dialErrorLimit dials, naming user, address and the refusal", async () => {
        const port = await closedPort();
        const retries: string[] = [];
        await assert.rejects(
            sshRun({ host: "127.0.0.1", port, user: "deploy", password: "x", dialErrorLimit: 2 }, "true", undefined, {
                log: l => retries.push(l),
            }),
            {
                name: "SshDialError",
                message:
                    `ssh deploy@127.0.0.1:${port}: connection refused (nothing listens on the port) ` +
                    "(gave up after 2 dials, each bounded by 15s: connection.dialErrorLimit and perDialTimeout)",
            },
        );
        assert.equal(retries.length, 1, retries.join("\n"));
    });

    test("a listener that never answers the handshake is given up on within perDialTimeout per dial", async () => {
        const l = await silentListener();
        try {
            const t = Date.now();
            await assert.rejects(
                sshRun(
                    { host: "127.0.0.1", port: l.port, password: "x", dialErrorLimit: 2, perDialTimeout: 1 },
                    "true",
                ),
                new RegExp(
                    `^SshDialError: ssh root@127\\.0\\.0\\.1:${l.port}: no SSH handshake within the dial timeout`,
                ),
            );
            const seconds = (Date.now() - t) / 1000;
            assert.ok(seconds < 2 * (1 + 1) + dialBackoffMs(1) / 1000 + 1, `took ${seconds}s`);
            assert.equal(l.accepted(), 2);
        } finally {
            l.close();
        }
    });

    test("backs off 1 s, 2 s, 4 s, then 5 s between dials", () => {
        assert.deepEqual([1, 2, 3, 4, 9].map(dialBackoffMs), [1000, 2000, 4000, 5000, 5000]);
    });
});

describe("the registry mirror's names", () => {
    test("official images live under library/, others under their own name", () => {
        assert.equal(hubPath("postgres:17"), "library/postgres:17");
        assert.equal(hubPath("certbot/certbot:v4.0.0"), "certbot/certbot:v4.0.0");
        assert.throws(() => hubPath("ghcr.io/x/y:1"), /names a registry of its own/);
    });
});
