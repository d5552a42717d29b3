// Polling for the end-to-end tests: the one `until`.

/** Polls `fn` until it returns a truthy value; fails with the last error after `seconds`. */
export async function until<T>(
    what: string,
    seconds: number,
    fn: () => Promise<T | undefined | false> | T | undefined | false,
    intervalMs = 250,
): Promise<T> {
    const end = Date.now() + seconds * 1000;
    let last: unknown = "never truthy";
    for (;;) {
        try {
            const v = await fn();
            if (v) return v;
        } catch (e) {
            last = e;
        }
        if (Date.now() > end) {
            throw new Error(
                `${what}: not within ${seconds}s; last: ${last instanceof Error ? last.message : String(last)}`,
            );
        }
        await new Promise(r => setTimeout(r, intervalMs));
    }
}
