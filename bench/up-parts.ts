// Where an `up`'s wall time went, from its progress lines. The sandbox applies one resource at a time and says
// which (sandbox/applier.ts: `create <type> <name>`), then what the step does (`run create of … over ssh`,
// `wait for … to be healthy`); images are built and pulled while the program is evaluated (`build … from`,
// `pull … on`), each pass ending with `evaluated N resources`.
/** A progress line of `up` and when it came. */
export interface TimedLine {
    readonly atMs: number;
    readonly line: string;
}

/** What an `up` onto a droplet spends its wall time on, in seconds. */
export interface UpParts {
    /** The droplet's create: the machine's boot and cloud-init's run (which installs Docker). */
    readonly droplet: number;
    /** The Host's bootstrap over SSH. */
    readonly bootstrap: number;
    /** The app's build and the pulls on the machine's daemon, which run at once while the program is evaluated. */
    readonly images: number;
    /** The database's container until its health check passes. */
    readonly database: number;
    /** The release command (migrations). */
    readonly release: number;
    /** The certificate's first issue through the edge (HTTP-01). */
    readonly certificate: number;
    /** The App's deploy step (health, switch, drain). */
    readonly deploy: number;
    /** Everything else: the program's evaluation, keys, networks, volumes, other containers and commands, DNS. */
    readonly other: number;
}

const STEP: [keyof UpParts, (type: string, name: string) => boolean][] = [
    ["droplet", type => type === "digitalocean:index/droplet:Droplet"],
    ["bootstrap", (type, name) => type.startsWith("command:") && name.endsWith("-bootstrap")],
    ["images", type => type === "docker:index/remoteImage:RemoteImage" || type === "docker:index/image:Image"],
    ["release", (type, name) => type.startsWith("command:") && name.endsWith("-release")],
    ["certificate", (type, name) => type.startsWith("command:") && name.endsWith("-issue")],
    ["deploy", (type, name) => type.startsWith("command:") && name.endsWith("-deploy")],
];

/** The part a line starts, or undefined when it goes on with the current one. */
function partStarted(line: string): keyof UpParts | undefined {
    const step = /^(?:create|update|replace) (\S+) (\S+)/.exec(line);
    if (step) return STEP.find(([, is]) => is(step[1], step[2]))?.[0] ?? "other";
    if (/^(build \S+ from|pull \S+ on) /.test(line)) return "images";
    if (/^wait for \S+ to be healthy/.test(line)) return "database";
    if (/^evaluated \d+ resources/.test(line)) return "other";
    return undefined;
}

/**
 * Splits an `up`'s wall time (`startMs` to `endMs`) by its progress lines: each part lasts from the line that
 * starts it to the next line that starts one; before the first such line is `other`.
 */
export function upParts(lines: readonly TimedLine[], startMs: number, endMs: number): UpParts {
    const parts: Record<keyof UpParts, number> = {
        droplet: 0,
        bootstrap: 0,
        images: 0,
        database: 0,
        release: 0,
        certificate: 0,
        deploy: 0,
        other: 0,
    };
    let at = startMs;
    let current: keyof UpParts = "other";
    for (const l of lines) {
        const next = partStarted(l.line);
        if (next === undefined) continue;
        parts[current] += Math.max(0, l.atMs - at) / 1000;
        at = l.atMs;
        current = next;
    }
    parts[current] += Math.max(0, endMs - at) / 1000;
    return parts;
}
