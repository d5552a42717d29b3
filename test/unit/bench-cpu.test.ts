// The bench's CPU accounting (how a run's cores were shared) and where a deploy's slow requests were sent.
// Pure parts on made-up readings, and the probes against a server on loopback: no timing figures here.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { createServer, Server } from "node:net";
import { cpuShare, CpuReading, parseProcStat } from "../../bench/cpu";
import { Role, tallyContainers } from "../../bench/deploy-cpu";
import { accepts, answers } from "../../bench/events";
import { Sample, slowBySteps } from "../../bench/stats";

test("/proc/stat: one entry per core, busy is everything but idle and iowait", () => {
    const text = [
        "cpu  30 0 10 100 5 0 0 0 0 0",
        "cpu0 10 0 5 50 5 0 0 0 0 0",
        "cpu1 20 1 5 50 0 2 3 4 0 0",
        "intr 12345",
    ].join("\n");
    assert.deepEqual(parseProcStat(text), [
        { busy: 15, total: 70 },
        { busy: 35, total: 85 },
    ]);
});

test("cpuShare: per-core busy percent, each container's and the daemons' CPU µs per request", () => {
    const reading = (busy: [number, number], total: number, edge: number, upstream: number, daemonsMs: number) =>
        ({
            cores: busy.map(b => ({ busy: b, total })),
            containers: { id1: edge, id2: upstream },
            daemonsMs,
        }) satisfies CpuReading;
    const a = reading([100, 0], 200, 1000, 500, 40);
    const b = reading([200, 25], 300, 1800, 700, 60);
    const s = cpuShare(a, b, 4000, { id1: "edge", id2: "upstream" });
    assert.deepEqual(s.coreBusyPercent, [100, 25]);
    assert.deepEqual(s.perRequestUs, { edge: 200, upstream: 50 });
    assert.equal(s.daemonsPerRequestUs, 5);
});

test("tallyContainers: each role's CPU seconds; a container made during the window counts from zero", () => {
    const atStart = new Map([
        ["old", 10_000],
        ["edge", 3_000],
        ["db", 500],
    ]);
    const last = new Map([
        ["old", 14_000], // gone before the end: its last reading
        ["edge", 3_500],
        ["db", 800],
        ["new", 1_500],
        ["release", 600],
        ["unknown", 100], // made and gone before it was inspected
    ]);
    const roles = new Map<string, Role>([
        ["old", "old_app"],
        ["edge", "edge"],
        ["db", "other_containers"],
        ["new", "new_app"],
        ["release", "release"],
    ]);
    assert.deepEqual(tallyContainers(atStart, last, roles), {
        old_app: 4,
        new_app: 1.5,
        release: 0.6,
        edge: 0.5,
        other_containers: 0.4,
    });
});

test("slowBySteps counts answered requests over the threshold by the step they were sent in", () => {
    const start = 10_000;
    const marks = [
        { atMs: 0, label: "deploy" },
        { atMs: 1000, label: "new started" },
        { atMs: 2000, label: "edge switched" },
    ];
    const s = (at: number, latencyMs: number, status = 200, error?: string): Sample => ({
        sentMs: start + at,
        latencyMs,
        status,
        error,
    });
    const samples = [
        s(-500, 900), // before the deploy: not counted
        s(10, 50), // fast
        s(20, 900), // slow, in "deploy"
        s(1500, 901), // slow, in "new started"
        s(1600, 5000, 0, "connection refused"), // no answer: a failure, not a slow request
        s(2500, 2000, 502), // a slow 5xx is still slow
        s(2600, 100),
    ];
    assert.deepEqual(slowBySteps(samples, start, marks, 100), { deploy: 1, "new started": 1, "edge switched": 1 });
    assert.deepEqual(slowBySteps(samples, start, marks, 10_000), { deploy: 0, "new started": 0, "edge switched": 0 });
});

test("a server that accepts at once but answers late is ready before it answers; one that never answers does not", async () => {
    const listen = (onData: (reply: () => void) => void) =>
        new Promise<Server>(resolve => {
            const server = createServer(c =>
                c.on("data", () => onData(() => c.end("HTTP/1.0 400 Bad Request\r\n\r\n"))),
            );
            server.listen(0, "127.0.0.1", () => resolve(server));
        });
    const port = (s: Server) => (s.address() as { port: number }).port;
    const late = await listen(reply => setTimeout(reply, 300));
    const mute = await listen(() => undefined);
    try {
        assert.equal(await accepts("127.0.0.1", port(late)), true);
        assert.equal(await answers("127.0.0.1", port(late), 100), false, "not within 100 ms");
        assert.equal(await answers("127.0.0.1", port(late), 3000), true);
        assert.equal(await answers("127.0.0.1", port(mute), 200), false);
    } finally {
        late.close();
        mute.close();
    }
});
