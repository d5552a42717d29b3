// Pure arithmetic over per-request records: percentiles, failure counts and the 100 ms series the
// redeploy chart draws. No I/O here, so the unit tests can hold every figure the bench prints.

/** One request as the load generator saw it. */
export interface Sample {
    /** When it was sent, in ms since the epoch. */
    readonly sentMs: number;
    /** How long it took until the response (or the error), in ms. */
    readonly latencyMs: number;
    /** HTTP status; 0 when there was no response. */
    readonly status: number;
    /** The error, if any: refused or reset connection, timeout. */
    readonly error?: string;
}

/** Kinds of failure: no response at all, or a 5xx from the edge or the app. */
export type Failure = "connection" | "5xx";

export function failureOf(s: Sample): Failure | undefined {
    // vegeta reports a 5xx with its status line as the error too: the status decides.
    if (s.status >= 500) return "5xx";
    return s.error || s.status === 0 ? "connection" : undefined;
}

/** The p-th percentile (0..100) by nearest rank; NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
    if (p < 0 || p > 100) throw new RangeError(`percentile: ${p}`);
    if (values.length === 0) return NaN;
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

export function median(values: readonly number[]): number {
    return percentile(values, 50);
}

/** Named figures of one run; null where a step did not happen. */
export type Figures = Record<string, number | null>;

/**
 * Each figure's median over several runs of the same measure, over the runs that have it (a null is left out); null
 * when none has it.
 */
export function medianFigures(runs: readonly Figures[]): Figures {
    const names = [...new Set(runs.flatMap(r => Object.keys(r)))];
    return Object.fromEntries(
        names.map(n => {
            const values = runs.map(r => r[n]).filter((v): v is number => typeof v === "number");
            return [n, values.length > 0 ? median(values) : null];
        }),
    );
}

/** Totals over a window of requests. Latency percentiles count only requests that got a response. */
export interface WindowFigures {
    total: number;
    failedConnection: number;
    failed5xx: number;
    p50Ms: number;
    p99Ms: number;
}

export function windowFigures(samples: readonly Sample[]): WindowFigures {
    const answered = samples.filter(s => failureOf(s) !== "connection").map(s => s.latencyMs);
    return {
        total: samples.length,
        failedConnection: samples.filter(s => failureOf(s) === "connection").length,
        failed5xx: samples.filter(s => failureOf(s) === "5xx").length,
        p50Ms: percentile(answered, 50),
        p99Ms: percentile(answered, 99),
    };
}

/** Requests sent in [fromMs, toMs). */
export function between(samples: readonly Sample[], fromMs: number, toMs: number): Sample[] {
    return samples.filter(s => s.sentMs >= fromMs && s.sentMs < toMs);
}

/**
 * One bucket of the chart's series: its start (ms from the series' origin) and the requests that ended in it
 * (a response or an error): a stall shows as a dip, not as the steady rate the generator keeps sending at.
 */
export interface Bucket {
    readonly atMs: number;
    /** Answered without a failure, per second. */
    readonly rps: number;
    readonly failed: number;
    /** p99 of the answered requests; null for a bucket with none. */
    readonly p99Ms: number | null;
}

/** Buckets of `widthMs` from `originMs` to `endMs`, empty ones included (a gap in traffic shows as 0 req/s). */
export function series(samples: readonly Sample[], originMs: number, endMs: number, widthMs = 100): Bucket[] {
    if (!(widthMs > 0) || endMs < originMs) throw new RangeError(`series: ${originMs}..${endMs} by ${widthMs}`);
    const n = Math.ceil((endMs - originMs) / widthMs);
    const groups: Sample[][] = Array.from({ length: n }, () => []);
    for (const s of samples) {
        const i = Math.floor((s.sentMs + s.latencyMs - originMs) / widthMs);
        if (i >= 0 && i < n) groups[i].push(s);
    }
    return groups.map((g, i) => {
        const answered = g.filter(s => failureOf(s) !== "connection").map(s => s.latencyMs);
        return {
            atMs: i * widthMs,
            rps: (g.filter(s => failureOf(s) === undefined).length * 1000) / widthMs,
            failed: g.filter(s => failureOf(s) !== undefined).length,
            p99Ms: answered.length > 0 ? percentile(answered, 99) : null,
        };
    });
}

/** Failures by kind: the error without its request (`Get "https://…": `), or `HTTP <status>`; most frequent first. */
export function failureKinds(samples: readonly Sample[]): [string, number][] {
    const counts = new Map<string, number>();
    for (const s of samples) {
        const kind = failureOf(s);
        if (kind === undefined) continue;
        const what = kind === "5xx" ? `HTTP ${s.status}` : (s.error ?? "no response").replace(/^\w+ "[^"]*": /, "");
        counts.set(what, (counts.get(what) ?? 0) + 1);
    }
    return [...counts].sort((a, b) => b[1] - a[1]);
}

/**
 * nginx error-log lines of warning level and above, by what they say: the time, process, connection number and
 * the request's details (client, server, request, upstream, host) left out. Why the edge answered 5xx.
 */
export function edgeErrorKinds(lines: readonly string[]): [string, number][] {
    const counts = new Map<string, number>();
    for (const line of lines) {
        const m = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[(warn|error|crit|alert|emerg)\] \d+#\d+: (?:\*\d+ )?(.*)$/.exec(
            line,
        );
        if (m === null) continue;
        const what = `[${m[1]}] ${m[2].replace(/, (client|server|request|upstream|host|referrer): .*$/, "")}`;
        counts.set(what, (counts.get(what) ?? 0) + 1);
    }
    return [...counts].sort((a, b) => b[1] - a[1]);
}

/**
 * Answered requests slower than `thresholdMs`, by the deploy step in which they were sent: `marks` (ms
 * from `startMs`, in order) open the steps, each named by its mark's label; requests sent before the first mark
 * are left out. Where a deploy's slow requests come from.
 */
export function slowBySteps(
    samples: readonly Sample[],
    startMs: number,
    marks: readonly { readonly atMs: number; readonly label: string }[],
    thresholdMs: number,
): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries(marks.map(m => [m.label, 0]));
    for (const s of samples) {
        if (s.latencyMs <= thresholdMs || failureOf(s) === "connection") continue;
        const at = s.sentMs - startMs;
        const step = marks.filter(m => m.atMs <= at).pop();
        if (step) out[step.label]++;
    }
    return out;
}
