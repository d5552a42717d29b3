// The bench's pure parts: the statistics it prints, the split of a deploy's time, the results record and
// the chart. No timing here: performance figures live in bench/results, not in tests.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { niceCeiling, renderRedeployChart } from "../../bench/chart";
import { parseEvent } from "../../bench/events";
import { splitDeploy } from "../../bench/phases";
import { checkRecord, formatFigure, renderLatest, replaceLatest, Results } from "../../bench/results";
import {
    between,
    edgeErrorKinds,
    failureKinds,
    failureOf,
    medianFigures,
    percentile,
    Sample,
    series,
    windowFigures,
} from "../../bench/stats";
import { parseHey } from "../../bench/hey";
import { parseVegeta } from "../../bench/vegeta";
import { upParts } from "../../bench/up-parts";
import { answeredSteadily, searchSaturation, STEADY_P99_MS } from "../../bench/saturation";

const ok = (sentMs: number, latencyMs: number): Sample => ({ sentMs, latencyMs, status: 200 });

test("percentile is the nearest rank; no values give NaN; out-of-range p throws", () => {
    const xs = [5, 1, 4, 2, 3, 6, 7, 8, 9, 10];
    assert.equal(percentile(xs, 50), 5);
    assert.equal(percentile(xs, 99), 10);
    assert.equal(percentile(xs, 0), 1);
    assert.equal(percentile([42], 99), 42);
    assert.ok(Number.isNaN(percentile([], 50)));
    assert.throws(() => percentile(xs, 101), RangeError);
});

test("medianFigures: each figure's median over the runs that have it; null where none has", () => {
    assert.deepEqual(
        medianFigures([
            { p99: 900, failed: 0, drain: null, gap: null },
            { p99: 3900, failed: 219, drain: 1.5, gap: null },
            { p99: 1400, failed: 0, drain: 0.5 },
        ]),
        { p99: 1400, failed: 0, drain: 0.5, gap: null },
    );
    assert.deepEqual(medianFigures([]), {});
});

test("failures are told apart: no response is a connection failure, 5xx is the server's, 4xx is not a failure", () => {
    assert.equal(failureOf({ sentMs: 0, latencyMs: 1, status: 0, error: "connection refused" }), "connection");
    assert.equal(failureOf({ sentMs: 0, latencyMs: 1, status: 502 }), "5xx");
    assert.equal(failureOf({ sentMs: 0, latencyMs: 1, status: 502, error: "502 Bad Gateway" }), "5xx");
    assert.equal(failureOf({ sentMs: 0, latencyMs: 1, status: 404 }), undefined);
    const w = windowFigures([
        ok(0, 10),
        ok(1, 20),
        { sentMs: 2, latencyMs: 3, status: 502 },
        { sentMs: 3, latencyMs: 10_000, status: 0, error: "timeout" },
    ]);
    assert.deepEqual(w, { total: 4, failedConnection: 1, failed5xx: 1, p50Ms: 10, p99Ms: 20 });
    assert.deepEqual(
        between([ok(0, 1), ok(5, 1), ok(10, 1)], 5, 10).map(s => s.sentMs),
        [5],
    );
});

test("series buckets requests by when they ended, keeps empty buckets, and has no p99 where nothing was answered", () => {
    const s = [ok(0, 10), ok(50, 10), { sentMs: 120, latencyMs: 5, status: 503 }, ok(90, 300)];
    const b = series(s, 0, 400);
    assert.equal(b.length, 4);
    assert.deepEqual(
        b.map(x => x.atMs),
        [0, 100, 200, 300],
    );
    assert.deepEqual(
        b.map(x => x.rps),
        [20, 0, 0, 10],
    );
    assert.deepEqual(
        b.map(x => x.failed),
        [0, 1, 0, 0],
    );
    assert.deepEqual(
        b.map(x => x.p99Ms),
        [10, 5, null, 300],
    );
    assert.throws(() => series(s, 10, 0), RangeError);
});

test("vegeta's JSON lines become samples in ms, with the error kept", () => {
    const lines = [
        JSON.stringify({ code: 200, timestamp: "2026-12-01T17:00:00.123456789Z", latency: 2_500_000, error: "" }),
        JSON.stringify({
            code: 0,
            timestamp: "2026-12-01T17:00:01.5Z",
            latency: 1_000_000,
            error: "connection refused",
        }),
        "",
    ].join("\n");
    assert.deepEqual(parseVegeta(lines), [
        { sentMs: Date.parse("2026-12-01T17:00:00.123Z"), latencyMs: 2.5, status: 200 },
        { sentMs: Date.parse("2026-12-01T17:00:01.5Z"), latencyMs: 1, status: 0, error: "connection refused" },
    ]);
    assert.throws(
        () => parseVegeta(JSON.stringify({ code: 200, timestamp: "yesterday", latency: 1, error: "" })),
        /timestamp/,
    );
});

const ev = (atMs: number, action: string, name: string, process = "") => ({
    atMs,
    type: "container",
    action,
    name,
    process,
});

test("a dropyard deploy splits into before, boot, first answer, health detection, switch, drain and after", () => {
    const events = [
        ev(1000, "create", "counter-web-1-new"),
        ev(1200, "start", "counter-web-1-new"),
        ev(2300, "exec_start: nginx -t", "edge"),
        ev(2350, "exec_start: nginx -s reload", "edge"), // the new servers beside the live ones
        ev(2500, "exec_start: sh -c grep -ls ...", "edge"),
        ev(2600, "exec_start: nginx -t", "edge"),
        ev(2700, "exec_start: nginx -s reload", "edge"), // the switch
        ev(3000, "kill", "counter-web-1-old"),
        ev(3100, "die", "counter-web-1-old"),
    ];
    const { split, marks } = splitDeploy({
        startMs: 0,
        endMs: 4000,
        events,
        newName: "counter-web-1-new",
        readyMs: 1700,
        answersMs: 2100,
        oldName: "counter-web-1-old",
        edgeName: "edge",
    });
    assert.deepEqual(split, {
        before_seconds: 1.2,
        release_seconds: null,
        boot_to_ready_seconds: 0.5,
        ready_to_answer_seconds: 0.4,
        health_detect_seconds: 0.6,
        switch_seconds: 0.4,
        drain_seconds: 0.3,
        after_seconds: 1,
        gap_seconds: null,
        total_seconds: 4,
        overhead_seconds: 3.5,
        // The first answer (2.1 s) to the second reload (2.7 s), and the drain.
        step_own_seconds: 0.6 + 0.3,
    });
    assert.deepEqual(
        marks.map(m => m.label),
        ["deploy", "new started", "new ready", "new answers", "edge switched", "old stopped", "done"],
    );
});

test("a stop-then-start deploy shows the gap without a server and its release when there is one", () => {
    const events = [
        ev(100, "start", "happy_turing", "release"),
        ev(600, "die", "happy_turing", "release"),
        ev(700, "kill", "plain"),
        ev(900, "die", "plain"),
        ev(1000, "destroy", "plain"),
        ev(1300, "start", "plain"),
    ];
    const { split } = splitDeploy({
        startMs: 0,
        endMs: 1400,
        events,
        newName: "plain",
        readyMs: 2000,
        oldName: "plain",
    });
    assert.equal(split.release_seconds, 0.5);
    assert.equal(split.gap_seconds, 1.3);
    assert.equal(split.boot_to_ready_seconds, 0.7);
    assert.equal(split.after_seconds, null);
    assert.equal(split.switch_seconds, null);
    assert.equal(split.step_own_seconds, null);
});

test("the edge's error-log lines are counted by what they say, without times, connections and request details", () => {
    const lines = [
        '2026/12/02 03:41:07 [error] 31#31: *812 connect() failed (111: Connection refused) while connecting to upstream, client: 172.18.0.1, server: counter.test, request: "GET / HTTP/2.0", upstream: "http://172.18.0.5:8000/", host: "counter.test"',
        '2026/12/02 03:41:08 [error] 32#32: *907 connect() failed (111: Connection refused) while connecting to upstream, client: 172.18.0.1, server: counter.test, request: "GET / HTTP/1.1", upstream: "http://172.18.0.5:8000/", host: "counter.test"',
        "2026/12/02 03:41:09 [warn] 31#31: *950 an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/1/00/0000000001 while reading upstream, client: 172.18.0.1",
        "2026/12/02 03:41:09 [notice] 1#1: signal process started",
        '172.18.0.1 - - [02/Dec/2026:03:41:09 +0000] "GET / HTTP/2.0" 502 157 "-" "Go-http-client/2.0" "-"',
        "",
    ];
    assert.deepEqual(edgeErrorKinds(lines), [
        ["[error] connect() failed (111: Connection refused) while connecting to upstream", 2],
        [
            "[warn] an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/1/00/0000000001 while reading upstream",
            1,
        ],
    ]);
});

test("docker events lines are read with their time in ms, the container's name and its dropyard process", () => {
    const line = JSON.stringify({
        Type: "container",
        Action: "health_status: healthy",
        Actor: { ID: "abc", Attributes: { name: "web", "dev.dropyard.process": "release" } },
        time: 1,
        timeNano: 1_700_000_000_123_456_789,
    });
    assert.deepEqual(parseEvent(line), {
        atMs: 1_700_000_000_123.4568,
        type: "container",
        action: "health_status: healthy",
        name: "web",
        process: "release",
    });
});

test("the results record prints name=value lines, is checked before it is written, and takes new sections", () => {
    const printed: string[] = [];
    const r = new Results({ cores: 2, cpu: "test", memoryGb: 4 }, new Date("2026-12-01T17:00:00Z"), l =>
        printed.push(l),
    );
    r.version("docker", "20.10");
    r.section("redeploy")("failed_5xx", 0);
    r.section("examples", "")("cold_up_seconds_x", 12.3456);
    r.section("backup")("restore_ratio", Infinity);
    assert.deepEqual(printed, ["redeploy_failed_5xx=0", "cold_up_seconds_x=12.3", "backup_restore_ratio=n/a"]);
    assert.deepEqual(r.get().sections, {
        redeploy: { failed_5xx: 0 },
        examples: { cold_up_seconds_x: 12.3 },
        backup: { restore_ratio: null },
    });
    assert.throws(() => r.section("Bad-Name"), /snake_case/);
    assert.throws(() => r.section("ok")("Bad key", 1), /snake_case/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-results-"));
    try {
        const file = r.write(dir);
        assert.equal(path.basename(file), "2026-12-01.json");
        assert.deepEqual(checkRecord(JSON.parse(fs.readFileSync(file, "utf8"))), []);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test("checkRecord names what is wrong with a record", () => {
    const good = {
        schema: 1,
        date: "2026-12-01T17:00:00Z",
        machine: { cores: 2, cpu: "x", memoryGb: 1 },
        versions: {},
        sections: { s: { a: 1 } },
        notes: {},
    };
    assert.deepEqual(checkRecord(good), []);
    assert.deepEqual(checkRecord({ ...good, machine: { cores: 0, cpu: "x" } }), [
        "machine.cores: not a positive whole number",
    ]);
    assert.deepEqual(checkRecord({ ...good, sections: { s: { a: Number.NaN } } }), [
        "sections.s.a: NaN is not a finite number, a string or null",
    ]);
    assert.deepEqual(checkRecord({ ...good, schema: 2 }), ["schema: 2, expected 1"]);
    assert.deepEqual(checkRecord(null), ["not an object"]);
    assert.equal(formatFigure(0.85312), "0.853");
    assert.equal(formatFigure(471.23), "471.2");
    assert.equal(formatFigure(null), "n/a");
});

test("the chart has a line per method in each panel, breaks p99 where nothing was answered, and marks the steps", () => {
    const buckets = series([ok(0, 10), ok(150, 20), ok(350, 30)], 0, 400);
    const svg = renderRedeployChart("t <&>", [
        {
            name: "dropyard",
            buckets,
            deployAtMs: 100,
            marks: [
                { atMs: 0, label: "deploy" },
                { atMs: 200, label: "edge switched" },
            ],
        },
        { name: "compose", buckets, deployAtMs: 100, marks: [{ atMs: 0, label: "deploy" }] },
    ]);
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, /t &lt;&amp;&gt;/);
    // 3 panels x 2 methods; the p99 panel has a gap (bucket 200-300 is empty), so one more polyline per method.
    assert.equal(svg.match(/<polyline /g)?.length, 3 * 2 + 2);
    assert.equal(svg.match(/stroke-dasharray/g)?.length, 3 * 3);
    assert.match(svg, /dropyard: deploy 0s, edge switched 0.2s/);
    assert.throws(() => renderRedeployChart("x", []), /no lines/);
    assert.deepEqual([0, 0.3, 7, 10, 11, 470].map(niceCeiling), [1, 0.5, 10, 10, 20, 500]);
});

test("hey's summary gives requests/s, failures and the p50/p99 of its latency distribution in ms", () => {
    const text = [
        "Summary:",
        "  Requests/sec:\t5012.3456",
        "",
        "Latency distribution:",
        "  10% in 0.0010 secs",
        "  50% in 0.0021 secs",
        "  99% in 0.0150 secs",
        "",
        "Status code distribution:",
        "  [200]\t100 responses",
        "  [502]\t2 responses",
        "",
        "Error distribution:",
        '  [3]\tGet "https://x/": dial tcp: connection refused',
        "",
    ].join("\n");
    const r = parseHey(text);
    assert.equal(r.rps, 5012.3456);
    assert.equal(r.p50Ms, 2.1);
    assert.equal(r.p99Ms, 15);
    assert.equal(r.total, 105);
    assert.equal(r.failed, 5);
    assert.ok(Number.isNaN(parseHey("Summary:\n").p99Ms));
});

test("the latest run goes into the README between its markers: the chart, a table per section, the notes", () => {
    const r = new Results({ cores: 2, cpu: "cpu", memoryGb: 4 }, new Date("2026-12-01T17:00:00Z"), () => undefined);
    r.version("docker", "20.10");
    r.section("edge")("throughput_ratio", 0.91234);
    r.note("edge", "pinned");
    const block = renderLatest(r.get(), "results/x.svg");
    assert.equal(
        block,
        [
            "Run of 2026-12-01 17:00 UTC on 2 cores (cpu, 4 GB); docker 20.10.",
            "",
            "![redeploy under load](results/x.svg)",
            "",
            "**edge**",
            "",
            "| figure | value |",
            "| --- | --- |",
            "| `throughput_ratio` | 0.912 |",
            "",
            "- pinned",
        ].join("\n"),
    );
    const readme = "# B\n<!-- bench:latest:start -->\nold\n<!-- bench:latest:end -->\nrest\n";
    assert.equal(
        replaceLatest(readme, "new"),
        "# B\n<!-- bench:latest:start -->\nnew\n<!-- bench:latest:end -->\nrest\n",
    );
    assert.throws(() => replaceLatest("# B\n", "new"), /no <!-- bench:latest:start -->/);
});

test("failures are grouped by kind without the request's URL, most frequent first", () => {
    const f = (status: number, error?: string): Sample => ({
        sentMs: 0,
        latencyMs: 1,
        status,
        ...(error ? { error } : {}),
    });
    assert.deepEqual(
        failureKinds([
            f(200),
            f(502),
            f(0, 'Get "https://counter.localhost/": context deadline exceeded'),
            f(0, 'Get "https://counter.localhost/": context deadline exceeded'),
            f(404),
        ]),
        [
            ["context deadline exceeded", 2],
            ["HTTP 502", 1],
        ],
    );
});

test("a run is steady with no failure and a low p99 in its second half; a queue growing late or one failure is not", () => {
    const fast = Array.from({ length: 100 }, (_, i) => ok(i * 10, 5));
    assert.equal(answeredSteadily(fast), true);
    // Slow handshakes in the first half only: still steady.
    const slowStart = fast.map(s => (s.sentMs < 400 ? { ...s, latencyMs: 2 * STEADY_P99_MS } : s));
    assert.equal(answeredSteadily(slowStart), true);
    // The latency grows with each request sent: a queue. The second half's p99 is over the bound.
    const queue = fast.map(s => ({ ...s, latencyMs: s.sentMs / 2 }));
    assert.equal(answeredSteadily(queue), false);
    const oneFailed = [...fast.slice(1), { sentMs: 0, latencyMs: 10_000, status: 0, error: "timeout" }];
    assert.equal(answeredSteadily(oneFailed), false);
    assert.equal(answeredSteadily([]), false);
});

test("the saturation search brackets then bisects to within its tolerance, from above and from below", async () => {
    for (const [capacity, guess] of [
        [437, 300],
        [437, 900],
        [437, 437],
        [250, 500],
    ]) {
        const r = await searchSaturation(async rate => rate <= capacity, guess);
        assert.ok(r.rate <= capacity, `${r.rate} > ${capacity} from ${guess}`);
        const unsteady = Math.min(...r.tried.filter(t => !t.steady).map(t => t.rate));
        assert.ok(r.rate >= 0.95 * unsteady, `${r.rate} vs lowest unsteady ${unsteady}: ${JSON.stringify(r.tried)}`);
        assert.ok(r.tried.length <= 12);
        assert.deepEqual(r.tried[0].rate, Math.round(guess));
    }
    await assert.rejects(
        searchSaturation(async () => false, 100),
        /no rate down to 10 req\/s/,
    );
    await assert.rejects(
        searchSaturation(async () => true, 100, { maxRuns: 4 }),
        /no answer within 4 runs/,
    );
});

test("upParts: a part lasts from the line that starts it to the next that starts one; the rest is other", () => {
    // Lines as a cold up onto a droplet logged them (2026-12-02), times in seconds.
    const at = (s: number, line: string) => ({ atMs: 1000 * s, line });
    const lines = [
        at(0.5, "evaluated 42 resources in 532 ms (pass 1)"),
        at(0.6, "create tls:index/privateKey:PrivateKey counter-host-ssh-key"),
        at(1, "create digitalocean:index/droplet:Droplet counter-host-droplet"),
        at(1, "droplet counter-host: booting sandbox machine droplet-1 (cloud-init runs its user data)"),
        at(17, "create digitalocean:index/firewall:Firewall counter-host-firewall"),
        at(18, "create command:remote:Command counter-host-bootstrap"),
        at(18, "run create of counter-host-bootstrap over ssh root@172.29.0.3:22"),
        at(20, "create command:remote:Command counter-host-owners"),
        at(20.5, "build dropyard/counter-host-counter:latest from /tmp/app"),
        at(20.6, "pull nginx:1.30 on tcp://172.29.0.3:2376"),
        at(36, "built dropyard/counter-host-counter:latest = sha256:fcb4ba122457 in 15500 ms"),
        at(36.5, "evaluated 42 resources in 16000 ms (pass 3)"),
        at(37, "create command:remote:Command counter-cert-issue"),
        at(40, "create docker:index/container:Container counter-db-container"),
        at(40.5, "wait for counter-db to be healthy (up to 180s)"),
        at(45, "create docker:index/remoteImage:RemoteImage counter-db-image"),
        at(45.5, "create command:remote:Command counter-release"),
        at(46.5, "create command:remote:Command counter-deploy"),
        at(47, "replace docker:index/container:Container counter-web-1 (changed: env)"),
    ];
    assert.deepEqual(
        Object.fromEntries(Object.entries(upParts(lines, 0, 48_000)).map(([k, v]) => [k, Math.round(v * 10) / 10])),
        {
            droplet: 16,
            bootstrap: 2,
            images: 16 + 0.5,
            database: 4.5,
            release: 1,
            certificate: 3,
            deploy: 0.5,
            other: 0.6 + 0.4 + 1 + 0.5 + 0.5 + 0.5 + 1,
        },
    );
    // No lines: all of it is other.
    assert.equal(upParts([], 500, 2500).other, 2);
});
