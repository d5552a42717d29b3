// `dropyard releases` and `rollback` without a host: the state's image resources (built, pinned,
// pulled), the arguments, the release list from a stand-in Docker API, and rollback's calls to the
// Pulumi CLI (a recording stand-in) with every error a user can meet.
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import type Docker from "dockerode";
import { Context } from "../../lib/cli/commands";
import { main, parse } from "../../lib/cli/main";
import { releases, rollback } from "../../lib/cli/releases";
import { readStackState } from "../../lib/cli/state";
import { EXPORT, P } from "./cli-fixture";

const PROVIDER = `${P}dropyard:index:Host$pulumi:providers:docker::counter-host-docker::0b5c-provider`;

/** The fixture's state with the App's image resource: built, pinned to a release, or pulled. */
function exportWith(image: { type: "Image"; imageName: string } | { type: "RemoteImage"; name: string }) {
    const { type, ...inputs } = image;
    const t = type === "Image" ? "docker:index/image:Image" : "docker:index/remoteImage:RemoteImage";
    return {
        ...EXPORT,
        deployment: {
            ...EXPORT.deployment,
            resources: [
                ...EXPORT.deployment.resources,
                {
                    urn: `${P}dropyard:index:App$${t}::counter-image`,
                    custom: true,
                    id: "img",
                    type: t,
                    parent: `${P}dropyard:index:App::counter`,
                    provider: PROVIDER,
                    inputs,
                },
            ],
        },
    };
}
const BUILT = readStackState(
    exportWith({ type: "Image", imageName: "dropyard/counter-host-counter:latest" }),
    "export.json",
);
const PINNED = readStackState(
    exportWith({ type: "RemoteImage", name: "dropyard/counter-host-counter:release-2" }),
    "export.json",
);
const PULLED = readStackState(exportWith({ type: "RemoteImage", name: "wordpress:6.8-php8.4-apache" }), "export.json");

const id = (n: number) => `sha256:${String(n).repeat(64)}`;
/** Releases 1–3 on the host (and a tag of another repository); containers run release `live`. */
function fakeDocker(live: number): Docker {
    return {
        listImages: async (o: { filters: { reference: string[] } }) => {
            assert.deepEqual(o.filters.reference, ["dropyard/counter-host-counter:release-*"]);
            return [1, 2, 3].map(n => ({
                Id: id(n),
                Created: 1_764_590_000 + n * 60,
                Labels: n === 1 ? {} : { "dev.dropyard.commit": `${n}`.repeat(40) },
                RepoTags: [
                    `dropyard/counter-host-counter:release-${n}`,
                    ...(n === 3 ? ["dropyard/counter-host-counter:latest", "other/x:release-9"] : []),
                ],
            }));
        },
        getContainer: (c: string) => ({
            inspect: async () => {
                if (c === "worker0123") throw Object.assign(new Error("no such container"), { statusCode: 404 });
                return { Image: id(live), State: { Running: true } };
            },
        }),
    } as unknown as Docker;
}

function context(
    model: typeof BUILT,
    opts: { json?: boolean; live?: number; pulumi?: (a: string[]) => Promise<number> } = {},
) {
    const out: string[] = [];
    const progress: string[] = [];
    const ctx: Context = {
        model,
        json: opts.json ?? false,
        out: t => out.push(t),
        progress: t => progress.push(t),
        docker: () => fakeDocker(opts.live ?? 3),
        pulumi: opts.pulumi,
        io: { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() },
    };
    return { ctx, out, progress };
}

/** A Pulumi CLI that records its calls and exits with `codes` in turn (0 when they run out). */
function recordingPulumi(...codes: number[]) {
    const calls: string[][] = [];
    return {
        calls,
        run: async (a: string[]) => {
            calls.push(a);
            return codes.shift() ?? 0;
        },
    };
}

describe("the state's App images", () => {
    test("a built App's repository, a pinned release, a pulled image", () => {
        const pick = (m: typeof BUILT) => {
            const a = m.apps.find(x => x.name === "counter")!;
            return [a.repo, a.pinned, a.pulled];
        };
        assert.deepEqual(pick(BUILT), ["dropyard/counter-host-counter", undefined, undefined]);
        assert.deepEqual(pick(PINNED), ["dropyard/counter-host-counter", 2, undefined]);
        assert.deepEqual(pick(PULLED), [undefined, undefined, "wordpress:6.8-php8.4-apache"]);
    });
});

describe("dropyard releases", () => {
    test("arguments: rollback takes a release and --unpin; releases takes neither", () => {
        const a = parse(["rollback", "counter", "v2"]);
        assert.ok(a !== "help");
        assert.deepEqual([a.command, a.positionals, a.unpin], ["rollback", ["counter", "v2"], false]);
        const b = parse(["rollback", "counter", "--unpin"]);
        assert.ok(b !== "help" && b.unpin);
        assert.throws(() => parse(["releases", "counter", "--unpin"]), { message: /^releases does not take --unpin/ });
        assert.throws(() => parse(["releases", "counter", "2"]), { message: /^releases: unexpected argument "2"/ });
    });

    test("lists the kept releases newest first: image, build time, commit, which is live and which is pinned", async () => {
        const { ctx, out } = context(PINNED, { json: true, live: 2 });
        const r = await releases(ctx, "counter");
        assert.deepEqual(
            r.releases.map(x => [x.release, x.image, x.built, x.commit, x.live]),
            [
                [3, id(3), "2025-12-01T11:56:20.000Z", "3".repeat(40), false],
                [2, id(2), "2025-12-01T11:55:20.000Z", "2".repeat(40), true],
                [1, id(1), "2025-12-01T11:54:20.000Z", undefined, false],
            ],
        );
        assert.deepEqual([r.live, r.pinned], [2, 2]);
        assert.deepEqual(JSON.parse(out[0]), JSON.parse(JSON.stringify(r)));
        const table = context(PINNED, { live: 2 });
        await releases(table.ctx, "counter");
        assert.equal(
            table.out[0],
            [
                "RELEASE  IMAGE         BUILT                 COMMIT        ",
                "v3       333333333333  2025-12-01T11:56:20Z  333333333333  ",
                "v2       222222222222  2025-12-01T11:55:20Z  222222222222  live, pinned",
                "v1       111111111111  2025-12-01T11:54:20Z  -             ",
                "pinned to v2 by the stack config dropyard:releases; `dropyard rollback counter --unpin` deploys the code again",
            ].join("\n"),
        );
    });

    test("a pulled app has no releases", async () => {
        const { ctx } = context(PULLED);
        await assert.rejects(releases(ctx, "counter"), {
            message:
                'app "counter" runs the pulled image wordpress:6.8-php8.4-apache and has no releases; roll it back by changing its image argument',
        });
    });
});

describe("dropyard rollback", () => {
    test("pins the release before the live one in the stack's config, then runs pulumi up", async () => {
        const pulumi = recordingPulumi();
        const { ctx, out } = context(BUILT, { live: 3, pulumi: pulumi.run });
        assert.equal(await rollback(ctx, "counter", {}), 0);
        assert.deepEqual(pulumi.calls, [
            ["config", "set", "--path", 'dropyard:releases["counter"]', "2"],
            ["up", "--yes", "--skip-preview"],
        ]);
        assert.deepEqual(out, [
            'counter: v2 is live, pinned in the stack config (dropyard:releases["counter"]); `dropyard rollback counter --unpin` deploys the code again',
        ]);
    });

    test("a given release (v1 or 1); one not kept lists the kept ones; nothing before the oldest", async () => {
        const pulumi = recordingPulumi();
        assert.equal(await rollback(context(BUILT, { pulumi: pulumi.run }).ctx, "counter", { release: "v1" }), 0);
        assert.deepEqual(pulumi.calls[0], ["config", "set", "--path", 'dropyard:releases["counter"]', "1"]);
        await assert.rejects(rollback(context(BUILT, { pulumi: pulumi.run }).ctx, "counter", { release: "7" }), {
            message: 'app "counter" has no kept release "7"; its releases are: v3, v2, v1',
        });
        await assert.rejects(rollback(context(BUILT, { live: 1, pulumi: pulumi.run }).ctx, "counter", {}), {
            message: 'app "counter" has no release before the live one (v1); its releases are: v3, v2, v1',
        });
        assert.equal(pulumi.calls.length, 2, "nothing ran after an error");
    });

    test("a failing pulumi up is the command's status, and says what the config holds", async () => {
        const pulumi = recordingPulumi(0, 255);
        const { ctx, out, progress } = context(BUILT, { pulumi: pulumi.run });
        assert.equal(await rollback(ctx, "counter", { release: "2" }), 255);
        assert.deepEqual(out, []);
        assert.match(progress.at(-1)!, /^pulumi up failed \(exit 255\); the stack's config pins v2/);
        const failedSet = recordingPulumi(1);
        await assert.rejects(rollback(context(BUILT, { pulumi: failedSet.run }).ctx, "counter", { release: "2" }), {
            message: `pulumi config set --path dropyard:releases["counter"] 2 failed (exit 1); nothing was deployed`,
        });
        assert.equal(failedSet.calls.length, 1);
    });

    test("--unpin removes the pin and runs pulumi up; an app not pinned has nothing to unpin", async () => {
        const pulumi = recordingPulumi();
        const { ctx, out } = context(PINNED, { pulumi: pulumi.run });
        assert.equal(await rollback(ctx, "counter", { unpin: true }), 0);
        assert.deepEqual(pulumi.calls, [
            ["config", "rm", "--path", 'dropyard:releases["counter"]'],
            ["up", "--yes", "--skip-preview"],
        ]);
        assert.deepEqual(out, ["counter: unpinned; its code is deployed"]);
        await assert.rejects(rollback(context(BUILT, { pulumi: pulumi.run }).ctx, "counter", { unpin: true }), {
            message: 'app "counter" is not pinned to a release; `pulumi up` already deploys its code',
        });
    });

    test("from --state nothing can be deployed; a pulled app cannot be rolled back", async () => {
        await assert.rejects(rollback(context(BUILT).ctx, "counter", {}), {
            message:
                "rollback sets the stack's config and runs `pulumi up`, which --state cannot do: run it in the stack's directory without --state",
        });
        await assert.rejects(rollback(context(PULLED, { pulumi: recordingPulumi().run }).ctx, "counter", {}), {
            message: /pulled image/,
        });
        const stderr = new PassThrough();
        let err = "";
        stderr.on("data", d => {
            err += d;
        });
        const code = await main(
            ["rollback", "counter", "--state", "s.json"],
            { stdin: new PassThrough(), stdout: new PassThrough(), stderr },
            BUILT,
        );
        assert.equal(code, 1);
        assert.match(err, /which --state cannot do/);
    });
});
