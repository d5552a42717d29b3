// Where an `up`'s wall time went, from its progress lines: the sandbox applies one resource at a time and says
// which (sandbox/applier.ts), so each step lasts from its line to the next.
/** A progress line of `up` and when it came. */
export interface TimedLine {
    readonly atMs: number;
    readonly line: string;
}

/** What a cold `up` onto a droplet spends its time on, in seconds. */
export interface ColdUpParts {
    /** The droplet's create: the machine's boot, with cloud-init's run as far as the API waits for it. */
    readonly droplet: number;
    /** The Host's bootstrap over SSH (it waits for cloud-init, which installs Docker, to finish). */
    readonly bootstrap: number;
    /** Images pulled by the machine's daemon (Postgres, nginx, certbot, the app's base). */
    readonly pulls: number;
    /** The app's image built on the machine. */
    readonly build: number;
    /** The release command (migrations). */
    readonly release: number;
    /** The certificate's first issue through the edge (HTTP-01). */
    readonly certificate: number;
    /** Everything else: the program's evaluation, networks, volumes, containers, the deploy step, DNS. */
    readonly other: number;
}

const PART: [keyof ColdUpParts, (type: string, name: string) => boolean][] = [
    ["droplet", type => type === "digitalocean:index/droplet:Droplet"],
    ["bootstrap", (_, name) => name.endsWith("-bootstrap")],
    ["pulls", type => type === "docker:index/remoteImage:RemoteImage"],
    ["build", type => type === "docker:index/image:Image"],
    ["release", (type, name) => type.startsWith("command:") && name.endsWith("-release")],
    ["certificate", (type, name) => type.startsWith("command:") && name.endsWith("-issue")],
];

/**
 * Splits an `up`'s wall time by its progress lines: each `create|update|replace <type> <name>` line starts that
 * resource's step, which lasts until the next line (the sandbox applies one resource at a time); from `startMs` to
 * the first such line, and from the last step's end to `endMs`, count as `other`.
 */
export function coldUpParts(lines: readonly TimedLine[], startMs: number, endMs: number): ColdUpParts {
    const parts: Record<keyof ColdUpParts, number> = {
        droplet: 0,
        bootstrap: 0,
        pulls: 0,
        build: 0,
        release: 0,
        certificate: 0,
        other: 0,
    };
    let at = startMs;
    let current: keyof ColdUpParts = "other";
    for (const l of [...lines, { atMs: endMs, line: "" }]) {
        parts[current] += Math.max(0, l.atMs - at) / 1000;
        at = l.atMs;
        const step = /^(?:create|update|replace) (\S+) (\S+)/.exec(l.line);
        current = step ? (PART.find(([, is]) => is(step[1], step[2]))?.[0] ?? "other") : "other";
    }
    return parts;
}
