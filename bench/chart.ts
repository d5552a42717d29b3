// The redeploy chart: one SVG with three panels (answered requests/s, failures, p99 latency per 100 ms),
// one line per deploy method, time 0 at the moment each method's deploy began, and each method's
// steps marked on the time axis. Pure: data in, SVG text out.
import { Bucket } from "./stats";

export interface ChartMark {
    /** ms from the deploy's start. */
    readonly atMs: number;
    readonly label: string;
}

export interface ChartLine {
    readonly name: string;
    /** Buckets whose atMs counts from the series' origin; `originMs` says where the deploy began in it. */
    readonly buckets: readonly Bucket[];
    /** The deploy's start, in ms from the first bucket. */
    readonly deployAtMs: number;
    readonly marks: readonly ChartMark[];
}

const COLORS = ["#1b7837", "#d6604d", "#4393c3", "#8073ac", "#b8860b", "#555555"];
const WIDTH = 960;
const PANEL = 150;
const LEFT = 60;
const RIGHT = 20;
const TOP = 40;
const GAP = 36;

type Metric = "rps" | "failed" | "p99Ms";
const PANELS: { metric: Metric; title: string }[] = [
    { metric: "rps", title: "answered requests/s" },
    { metric: "failed", title: "failed requests per 100 ms" },
    { metric: "p99Ms", title: "p99 latency per 100 ms (ms)" },
];

const escape = (s: string) =>
    s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const fmt = (n: number) => (Math.round(n * 10) / 10).toString();

/** A round upper bound for an axis: 1, 2 or 5 times a power of ten, at least `max`. */
export function niceCeiling(max: number): number {
    if (!(max > 0)) return 1;
    const p = 10 ** Math.floor(Math.log10(max));
    return [1, 2, 5, 10].map(m => m * p).find(v => v >= max)!;
}

export function renderRedeployChart(title: string, lines: readonly ChartLine[]): string {
    if (lines.length === 0) throw new Error("renderRedeployChart: no lines");
    const width = (b: readonly Bucket[]) => (b.length > 1 ? b[1].atMs - b[0].atMs : 100);
    const fromMs = Math.min(...lines.map(l => -l.deployAtMs));
    const toMs = Math.max(...lines.map(l => l.buckets.length * width(l.buckets) - l.deployAtMs));
    const plotW = WIDTH - LEFT - RIGHT;
    const x = (ms: number) => LEFT + ((ms - fromMs) / (toMs - fromMs || 1)) * plotW;
    const height = TOP + PANELS.length * (PANEL + GAP) + 20 + lines.length * 18;
    const out: string[] = [
        `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}"` +
            ` font-family="sans-serif" font-size="11">`,
        `<rect width="${WIDTH}" height="${height}" fill="white"/>`,
        `<text x="${LEFT}" y="20" font-size="14">${escape(title)}</text>`,
    ];
    PANELS.forEach((panel, pi) => {
        const top = TOP + pi * (PANEL + GAP);
        const values = lines.flatMap(l => l.buckets.map(b => b[panel.metric] ?? 0));
        const max = niceCeiling(Math.max(0, ...values));
        const y = (v: number) => top + PANEL - (v / max) * PANEL;
        out.push(
            `<text x="${LEFT}" y="${top - 6}">${escape(panel.title)}</text>`,
            `<rect x="${LEFT}" y="${top}" width="${plotW}" height="${PANEL}" fill="none" stroke="#ccc"/>`,
            `<text x="${LEFT - 4}" y="${top + 4}" text-anchor="end">${fmt(max)}</text>`,
            `<text x="${LEFT - 4}" y="${top + PANEL}" text-anchor="end">0</text>`,
        );
        for (let s = Math.ceil(fromMs / 1000); s <= toMs / 1000; s++) {
            const sx = fmt(x(s * 1000));
            out.push(`<line x1="${sx}" y1="${top + PANEL}" x2="${sx}" y2="${top + PANEL + 3}" stroke="#999"/>`);
            if (pi === PANELS.length - 1)
                out.push(`<text x="${sx}" y="${top + PANEL + 14}" text-anchor="middle">${s}s</text>`);
        }
        lines.forEach((l, li) => {
            const color = COLORS[li % COLORS.length];
            const w = width(l.buckets);
            // A bucket without answered requests has no p99: the line breaks there instead of dropping to 0.
            const runs: string[][] = [[]];
            for (const b of l.buckets) {
                const v = b[panel.metric];
                if (v === null) {
                    runs.push([]);
                    continue;
                }
                runs[runs.length - 1].push(`${fmt(x(b.atMs + w / 2 - l.deployAtMs))},${fmt(y(v))}`);
            }
            for (const r of runs.filter(p => p.length > 0)) {
                out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.3" points="${r.join(" ")}"/>`);
            }
            for (const m of l.marks) {
                const mx = fmt(x(m.atMs));
                out.push(
                    `<line x1="${mx}" y1="${top}" x2="${mx}" y2="${top + PANEL}" stroke="${color}" stroke-dasharray="3,3"/>`,
                );
                if (pi === 0) {
                    out.push(`<text x="${mx}" y="${top + 10 + li * 11}" fill="${color}">${escape(m.label)}</text>`);
                }
            }
        });
    });
    const legendTop = TOP + PANELS.length * (PANEL + GAP) + 10;
    lines.forEach((l, li) => {
        const ly = legendTop + li * 18;
        const steps = l.marks.map(m => `${escape(m.label)} ${fmt(m.atMs / 1000)}s`).join(", ");
        out.push(
            `<line x1="${LEFT}" y1="${ly}" x2="${LEFT + 24}" y2="${ly}" stroke="${COLORS[li % COLORS.length]}" stroke-width="3"/>`,
            `<text x="${LEFT + 30}" y="${ly + 4}">${escape(l.name)}: ${steps}</text>`,
        );
    });
    out.push("</svg>", "");
    return out.join("\n");
}
