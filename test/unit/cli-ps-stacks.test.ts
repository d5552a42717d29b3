// `dropyard ps` in the stack that owns a host: the apps every other stack runs there, grouped by
// project/stack and app, from the labels on the host's containers (a stand-in Docker API here; the
// real engine in test/e2e/stacks.test.ts). A stack that only attaches to the host lists its own apps.
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import type Docker from "dockerode";
import { Context, ListedContainer, otherStacksOn, ps, PsResult } from "../../lib/cli/commands";
import { readStackState, StackModel } from "../../lib/cli/state";
import { EXPORT, P } from "./cli-fixture";

const HOST = "counter-host";

/** A container another stack's App made on a host, as Docker lists it. */
function listed(name: string, labels: Record<string, string>): ListedContainer {
    return { Id: `${name}-id`, Names: [`/${name}`], Labels: labels };
}
const appLabels = (owner: string, app: string, process: string, host = HOST) => {
    const [project, stack] = owner.split("/");
    return {
        "dev.dropyard.app": app,
        "dev.dropyard.process": process,
        "dev.dropyard.host": host,
        "dev.dropyard.project": project,
        "dev.dropyard.stack": stack,
    };
};

const ON_HOST = [
    listed("notes-production-worker", appLabels("flask-notes/production", "notes-production", "worker")),
    listed("notes-production-web-1", appLabels("flask-notes/production", "notes-production", "web")),
    listed("notes-staging-web-1", appLabels("flask-notes/staging", "notes-staging", "web")),
    listed("blog-web-1", appLabels("blog/prod", "blog", "web")),
    // This stack's own app: listed from its state already.
    listed("counter-web-1", appLabels("counter/prod", "counter", "web")),
    // Another host's app on the same engine, and a container no App made.
    listed("shop-web-1", appLabels("shop/prod", "shop", "web", "other-host")),
    listed("counter-host-nginx", { "dev.dropyard.role": "edge", "dev.dropyard.host": HOST }),
];

describe("other stacks' apps on a host", () => {
    test("are grouped by project/stack, then app, sorted; this stack's own and other hosts' are left out", () => {
        const found = otherStacksOn(HOST, "counter/prod", ON_HOST);
        assert.deepEqual(
            found.map(o => [o.stack, o.host, o.apps.map(a => [a.name, a.processes, a.containers.map(c => c.name)])]),
            [
                ["blog/prod", HOST, [["blog", ["web"], ["blog-web-1"]]]],
                [
                    "flask-notes/production",
                    HOST,
                    [["notes-production", ["web", "worker"], ["notes-production-web-1", "notes-production-worker"]]],
                ],
                ["flask-notes/staging", HOST, [["notes-staging", ["web"], ["notes-staging-web-1"]]]],
            ],
        );
        const worker = found[1].apps[0].containers[1];
        assert.deepEqual(worker, {
            resource: "notes-production-worker",
            name: "notes-production-worker",
            id: "notes-production-worker-id",
            process: "worker",
            envKeys: [],
            host: HOST,
        });
        assert.deepEqual(otherStacksOn("other-host", "shop/prod", ON_HOST), []);
    });
});

/** A Docker API with ON_HOST's containers; each inspect also returns an environment with a secret value. */
function fakeDocker(calls: string[]): Docker {
    return {
        listContainers: async (opts: { filters: { label: string[] } }) => {
            calls.push(`list ${opts.filters.label.join(" ")}`);
            return ON_HOST.filter(c => opts.filters.label.every(l => l.split("=")[0] in c.Labels));
        },
        getContainer: (id: string) => ({
            inspect: async () => ({
                Name: `/${id.replace(/-id$/, "")}`,
                Image: "sha256:feedface0123456789",
                RestartCount: 0,
                State: { Running: true, Status: "running", StartedAt: new Date(Date.now() - 30_000).toISOString() },
                Config: { Env: ["SECRET_KEY=other-stack-very-secret"] },
            }),
        }),
    } as unknown as Docker;
}

async function psOf(model: StackModel, json: boolean): Promise<{ text: string; calls: string[] }> {
    const out: string[] = [];
    const calls: string[] = [];
    const ctx: Context = {
        model,
        json,
        io: { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
        out: t => out.push(t),
        progress: () => undefined,
        docker: () => fakeDocker(calls),
    };
    await ps(ctx);
    return { text: out.join("\n"), calls };
}

/** The fixture's stack with its host's edge container: the stack that owns the host. */
function owningExport(): unknown {
    const x = structuredClone(EXPORT);
    x.deployment.resources.push({
        urn: `${P}dropyard:index:Host$dropyard:index:Edge$docker:index/container:Container::counter-host-nginx`,
        custom: true,
        id: "edge0123",
        type: "docker:index/container:Container",
        parent: `${P}dropyard:index:Host::counter-host`,
        provider: `${P}dropyard:index:Host$pulumi:providers:docker::counter-host-docker::0b5c-provider`,
        inputs: { image: "sha256:nginx", labels: [{ label: "dev.dropyard.role", value: "edge" }] },
        outputs: { name: "counter-host-nginx" },
    } as (typeof x.deployment.resources)[number]);
    return x;
}

describe("dropyard ps in the stack that owns the host", () => {
    const owning = readStackState(owningExport(), "export.json");
    const attached = readStackState(EXPORT, "export.json");

    test("the state tells the host's stack (it runs the edge) from one attached to it", () => {
        assert.deepEqual(
            owning.hosts.map(h => [h.name, h.owned]),
            [[HOST, true]],
        );
        assert.deepEqual(
            attached.hosts.map(h => [h.name, h.owned]),
            [[HOST, false]],
        );
    });

    test("--json lists every other stack's apps on the host with their containers' status", async () => {
        const { text, calls } = await psOf(owning, true);
        const r = JSON.parse(text) as PsResult;
        assert.deepEqual(calls, [`list dev.dropyard.host=${HOST} dev.dropyard.app`]);
        assert.deepEqual(
            r.otherStacks?.map(o => [o.stack, o.apps.map(a => a.name)]),
            [
                ["blog/prod", ["blog"]],
                ["flask-notes/production", ["notes-production"]],
                ["flask-notes/staging", ["notes-staging"]],
            ],
        );
        assert.deepEqual(r.otherStacks?.[1].apps[0].containers[0], {
            name: "notes-production-web-1",
            process: "web",
            health: "running",
            image: "sha256:feedface0123456789",
            restarts: 0,
            startedAt: r.otherStacks?.[1].apps[0].containers[0].startedAt,
            uptimeSeconds: 30,
        });
        assert.doesNotMatch(text, /very-secret|KEY-PEM/);
    });

    test("the table has one section per host, a row per container, and no secret value", async () => {
        const { text } = await psOf(owning, false);
        const section = text.slice(text.indexOf("other stacks on host"));
        assert.match(
            section,
            new RegExp(
                [
                    `^other stacks on host ${HOST}`,
                    "STACK +APP +PROCESS +CONTAINER +HEALTH +IMAGE +RESTARTS +UP",
                    "blog/prod +blog +web +blog-web-1 +running +feedface0123 +0 +30s",
                    "flask-notes/production +notes-production +web +notes-production-web-1 +running .*",
                    "flask-notes/production +notes-production +worker +notes-production-worker +running .*",
                    "flask-notes/staging +notes-staging +web +notes-staging-web-1 +running .*$",
                ].join("\n"),
            ),
        );
        assert.doesNotMatch(text, /very-secret|KEY-PEM/);
    });

    test("a host with no other stack's apps says so", async () => {
        const lonely = { ...owning, hosts: owning.hosts.map(h => ({ ...h, name: "lonely-host" })) };
        const { text } = await psOf(lonely, false);
        assert.match(text, /\nno other stack runs apps on this stack's hosts$/);
    });

    test("a stack attached to the host lists its own apps only, and asks the host for no others", async () => {
        const { text, calls } = await psOf(attached, true);
        assert.deepEqual(calls, []);
        assert.equal((JSON.parse(text) as PsResult).otherStacks, undefined);
    });
});
