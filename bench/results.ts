// The bench's record: every figure of a run, by section, with the machine and the versions, written to
// bench/results/<date>.json; each figure is also printed as a `name=value` line for scripts. A new kind
// of figure (backup/restore, a cold `up` on a machine) adds a section: `results.section("backup")`.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export type Figure = number | string | null;

export interface BenchRecord {
    /** The schema's version; raise it when a field changes meaning. */
    readonly schema: 1;
    /** ISO time the run began. */
    readonly date: string;
    readonly machine: { readonly cores: number; readonly cpu: string; readonly memoryGb: number };
    /** Tool and image versions, e.g. docker, nginx, vegeta, docker-compose. */
    readonly versions: Record<string, string>;
    /** Figures by section; a figure's key is its `name=value` name without the section's prefix. */
    readonly sections: Record<string, Record<string, Figure>>;
    /** Free-form notes by section: how the load was shared between cores, what was left out and why. */
    readonly notes: Record<string, string[]>;
}

const NAME = /^[a-z][a-z0-9_]*$/;
/** A figure's name may carry an example's name, e.g. cold_up_seconds_django-postgres. */
const KEY = /^[a-z][a-z0-9_-]*$/;

/** Problems with a record (empty when it is well-formed): what a reader of bench/results may rely on. */
export function checkRecord(r: unknown): string[] {
    const problems: string[] = [];
    const o = r as Partial<BenchRecord> | null;
    if (typeof o !== "object" || o === null) return ["not an object"];
    if (o.schema !== 1) problems.push(`schema: ${String(o.schema)}, expected 1`);
    if (typeof o.date !== "string" || Number.isNaN(Date.parse(o.date))) problems.push("date: not an ISO time");
    const m = o.machine;
    if (!m || !Number.isInteger(m.cores) || m.cores < 1) problems.push("machine.cores: not a positive whole number");
    if (!m || typeof m.cpu !== "string") problems.push("machine.cpu: not a string");
    for (const [k, v] of Object.entries(o.versions ?? {}))
        if (typeof v !== "string") problems.push(`versions.${k}: not a string`);
    if (typeof o.sections !== "object" || o.sections === null) return [...problems, "sections: missing"];
    for (const [s, figures] of Object.entries(o.sections)) {
        if (!NAME.test(s)) problems.push(`sections.${s}: not a snake_case name`);
        for (const [k, v] of Object.entries(figures)) {
            if (!KEY.test(k)) problems.push(`sections.${s}.${k}: not a snake_case name`);
            if (!(v === null || typeof v === "string" || (typeof v === "number" && Number.isFinite(v)))) {
                problems.push(`sections.${s}.${k}: ${String(v)} is not a finite number, a string or null`);
            }
        }
    }
    return problems;
}

/** `12`, `0.853`, `471.2`: integers as they are, small numbers to 3 places, others to 1. */
export function formatFigure(v: Figure): string {
    if (v === null) return "n/a";
    if (typeof v === "string") return v;
    return Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) < 10 ? 3 : 1);
}

export class Results {
    private readonly record: BenchRecord;

    constructor(
        machine: BenchRecord["machine"],
        date = new Date(),
        private readonly print: (line: string) => void = l => process.stdout.write(`${l}\n`),
    ) {
        this.record = { schema: 1, date: date.toISOString(), machine, versions: {}, sections: {}, notes: {} };
    }

    version(tool: string, v: string): void {
        this.record.versions[tool] = v;
    }

    note(section: string, text: string): void {
        (this.record.notes[section] ??= []).push(text);
    }

    /**
     * A section's recorder: `put("p99_ms", 12)` records it and prints `<prefix>p99_ms=12`. The prefix
     * defaults to `<section>_`; the sections that predate this record keep their old names with "".
     */
    section(name: string, prefix = `${name}_`): (key: string, v: Figure) => void {
        if (!NAME.test(name)) throw new Error(`bench section "${name}" is not a snake_case name`);
        const figures = (this.record.sections[name] ??= {});
        return (key, v) => {
            if (!KEY.test(key)) throw new Error(`bench figure "${key}" is not a snake_case name`);
            const value = typeof v === "number" && !Number.isFinite(v) ? null : v;
            figures[key] = typeof value === "number" ? Number(formatFigure(value)) : value;
            this.print(`${prefix}${key}=${formatFigure(value)}`);
        };
    }

    get(): BenchRecord {
        return this.record;
    }

    /** Writes `<dir>/<YYYY-MM-DD>.json` after checking it; returns the path. */
    write(dir: string): string {
        const problems = checkRecord(this.record);
        if (problems.length > 0) throw new Error(`bench record: ${problems.join("; ")}`);
        mkdirSync(dir, { recursive: true });
        const path = join(dir, `${this.record.date.slice(0, 10)}.json`);
        writeFileSync(path, `${JSON.stringify(this.record, null, 2)}\n`);
        return path;
    }
}

const START = "<!-- bench:latest:start -->";
const END = "<!-- bench:latest:end -->";

/** The latest run in Markdown: the chart, then a table per section with its notes, the machine and the versions. */
export function renderLatest(r: BenchRecord, chart: string | undefined): string {
    const lines = [
        `Run of ${r.date.slice(0, 16).replace("T", " ")} UTC on ${r.machine.cores} cores (${r.machine.cpu}, ` +
            `${r.machine.memoryGb} GB); ${Object.entries(r.versions)
                .map(([k, v]) => `${k} ${v}`)
                .join(", ")}.`,
        "",
    ];
    if (chart) lines.push(`![redeploy under load](${chart})`, "");
    for (const [section, figures] of Object.entries(r.sections)) {
        lines.push(`**${section}**`, "", "| figure | value |", "| --- | --- |");
        for (const [k, v] of Object.entries(figures)) lines.push(`| \`${k}\` | ${formatFigure(v)} |`);
        lines.push("");
        for (const n of r.notes[section] ?? []) lines.push(`- ${n}`);
        if (r.notes[section]) lines.push("");
    }
    for (const n of r.notes.machine ?? []) lines.push(`- ${n}`);
    return lines.join("\n").trimEnd();
}

/** `text` with what stands between the latest-run markers replaced by `block` (the markers must be there). */
export function replaceLatest(text: string, block: string): string {
    const a = text.indexOf(START);
    const b = text.indexOf(END);
    if (a < 0 || b < a) throw new Error(`no ${START} … ${END} block to replace`);
    return `${text.slice(0, a + START.length)}\n${block}\n${text.slice(b)}`;
}
