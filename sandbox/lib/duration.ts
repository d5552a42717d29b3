// Go duration strings ("1m30s", "500ms", "2h") as the docker provider takes them, in nanoseconds
// as the Docker Engine API wants them.
const UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Nanoseconds for a Go duration; `undefined` when the text is not one. */
export function goDurationNs(text: string): number | undefined {
    if (text === "0") return 0;
    const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
    if (parts.length === 0 || parts.map(p => p[0]).join("") !== text) return undefined;
    return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]], 0));
}
