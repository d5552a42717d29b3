// The app's saturation in the redeploy load's own mix (vegeta: one request in ten on a new TLS connection):
// the highest constant rate it answers steadily. hey's closed loop, which the bench measured first, keeps its
// connections open and slows down with the server, so 80% of its figure overloaded the app under vegeta's mix
// (steady p50 235 ms before any deploy began, results of 2026-12-02 10:56). Pure search here; the runs are the
// caller's, so the unit tests can check the search.
import { Sample, windowFigures } from "./stats";

/** A run's p99 in its second half above this, or any failure, and the rate was not answered steadily. */
export const STEADY_P99_MS = 250;

/**
 * Whether a constant-rate run was answered steadily: no failure at all, and p99 under STEADY_P99_MS among the
 * requests sent in its second half (a queue that grows shows there; the first half holds the connections'
 * handshakes).
 */
export function answeredSteadily(samples: readonly Sample[]): boolean {
    if (samples.length === 0) return false;
    const all = windowFigures(samples);
    if (all.failedConnection + all.failed5xx > 0) return false;
    const sent = samples.map(s => s.sentMs);
    const mid = (Math.min(...sent) + Math.max(...sent)) / 2;
    const late = windowFigures(samples.filter(s => s.sentMs >= mid));
    return late.total > 0 && late.p99Ms < STEADY_P99_MS;
}

export interface SaturationSearch {
    /** The highest rate found steady (req/s). */
    readonly rate: number;
    /** Every rate tried, in order, and whether it was steady. */
    readonly tried: readonly { rate: number; steady: boolean }[];
}

/**
 * The highest rate for which `steady(rate)` holds, to within `tolerance` (0.05: the rate found is at least 95% of
 * the lowest unsteady one tried). Starts at `guess`, brackets by ×1.25 up or ×0.8 down, then bisects. Throws when
 * nothing down to `floor` is steady, or more than `maxRuns` runs would be needed.
 */
export async function searchSaturation(
    steady: (rate: number) => Promise<boolean>,
    guess: number,
    { tolerance = 0.05, floor = 10, maxRuns = 12 } = {},
): Promise<SaturationSearch> {
    const tried: { rate: number; steady: boolean }[] = [];
    const run = async (rate: number) => {
        if (tried.length >= maxRuns) {
            throw new Error(`saturation search: no answer within ${maxRuns} runs: ${JSON.stringify(tried)}`);
        }
        const ok = await steady(rate);
        tried.push({ rate, steady: ok });
        return ok;
    };
    let lo: number | undefined;
    let hi: number | undefined;
    let rate = Math.max(floor, Math.round(guess));
    if (await run(rate)) {
        lo = rate;
        while (hi === undefined) {
            rate = Math.round(rate * 1.25);
            if (await run(rate)) lo = rate;
            else hi = rate;
        }
    } else {
        hi = rate;
        while (lo === undefined) {
            rate = Math.floor(rate * 0.8);
            if (rate < floor)
                throw new Error(`saturation search: no rate down to ${floor} req/s was answered steadily`);
            if (await run(rate)) lo = rate;
            else hi = rate;
        }
    }
    while (lo < hi * (1 - tolerance)) {
        const mid = Math.round((lo + hi) / 2);
        if (mid === lo || mid === hi) break;
        if (await run(mid)) lo = mid;
        else hi = mid;
    }
    return { rate: lo, tried };
}
