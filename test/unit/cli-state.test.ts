// The `dropyard` command's state reader: Pulumi's `stack export --show-secrets` format in, hosts,
// apps and databases out; and the sandbox's `export`, read back through the same reader.
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { connectionOptions } from "../../lib/cli/docker";
import { parseUrn, readStackState, unwrapSecrets } from "../../lib/cli/state";
import { toExport } from "../../sandbox/export";
import { StackState } from "../../sandbox/state";

import { EXPORT, P, SECRET, shown, SIG } from "./cli-fixture";

describe("reading a stack's exported state", () => {
    test("hosts come from Host components and their docker provider, TLS material unwrapped", () => {
        const m = readStackState(EXPORT, "export.json");
        assert.equal(m.stack, "counter/prod");
        assert.deepEqual(m.hosts, [
            {
                name: "counter-host",
                docker: { host: "tcp://203.0.113.10:2376", ca: "CA-PEM", cert: "CERT-PEM", key: "KEY-PEM-very-secret" },
                owned: false,
            },
        ]);
    });

    test("apps and their containers, by process type, with environment variable names and no values", () => {
        const m = readStackState(EXPORT, "export.json");
        assert.equal(m.apps.length, 1);
        const app = m.apps[0];
        assert.equal(app.name, "counter");
        assert.equal(app.host, "counter-host");
        assert.deepEqual(
            app.containers.map(c => [c.resource, c.name, c.id, c.process]),
            [
                ["counter-web-1", "counter-web-1-4f2a1b0", "web0123", "web"],
                ["counter-worker", "counter-worker-9a8b7c6", "worker0123", "worker"],
            ],
        );
        assert.deepEqual(app.containers[0].envKeys, ["DATABASE_URL", "PORT"]);
        assert.doesNotMatch(JSON.stringify(m.apps), /very-secret/);
    });

    test("databases from Postgres and MariaDB components", () => {
        const m = readStackState(EXPORT, "export.json");
        assert.deepEqual(
            m.databases.map(d => [d.name, d.kind, d.host, d.containers.map(c => c.name)]),
            [["counter-db", "postgres", "counter-host", ["counter-db"]]],
        );
    });

    test("a container of no App component counts for the app its label names", () => {
        const e = structuredClone(EXPORT);
        const worker = e.deployment.resources.find(r => r.urn.endsWith("::counter-worker"))!;
        delete (worker as { parent?: string }).parent;
        worker.inputs!.labels = [
            { label: "dev.dropyard.app", value: "other" },
            { label: "dev.dropyard.process", value: "worker" },
        ];
        const m = readStackState(e, "export.json");
        assert.deepEqual(
            m.apps.map(a => [a.name, a.containers.length]),
            [
                ["counter", 1],
                ["other", 1],
            ],
        );
    });

    test("an export without --show-secrets is an error that says how to export", () => {
        const e = structuredClone(EXPORT);
        const p = e.deployment.resources[2] as { inputs: Record<string, unknown> };
        p.inputs.keyMaterial = { [SIG]: SECRET, ciphertext: "v1:abc" };
        assert.throws(() => readStackState(e, "export.json"), {
            message:
                "export.json: secrets are encrypted; export the state with --show-secrets (pulumi stack export --show-secrets)",
        });
    });

    test("something else than an export is an error naming the source", () => {
        assert.throws(() => readStackState({ resources: [] }, "state.json"), {
            message:
                "state.json: not a Pulumi stack export (no deployment.resources); give the output of `pulumi stack export --show-secrets`",
        });
    });

    test("secret envelopes hold JSON text; the in-memory form (value) is read too", () => {
        assert.deepEqual(unwrapSecrets({ a: shown({ b: [1, "x"] }), c: { [SIG]: SECRET, value: "v" } }), {
            a: { b: [1, "x"] },
            c: "v",
        });
    });

    test("URNs: the last type of the chain and a name that may hold ::", () => {
        assert.deepEqual(parseUrn(`${P}dropyard:index:App$docker:index/container:Container::a::b`), {
            stack: "prod",
            project: "counter",
            type: "docker:index/container:Container",
            name: "a::b",
        });
        assert.throws(() => parseUrn("counter-web"), { message: "not a Pulumi URN: counter-web" });
    });
});

describe("connecting to a host's Docker API", () => {
    test("tcp with mutual TLS, the material in memory", () => {
        assert.deepEqual(connectionOptions({ host: "tcp://203.0.113.10:2376", ca: "CA", cert: "C", key: "K" }), {
            protocol: "https",
            host: "203.0.113.10",
            port: 2376,
            ca: "CA",
            cert: "C",
            key: "K",
        });
    });
    test("a unix socket, and the local engine when the provider names none", () => {
        assert.deepEqual(connectionOptions({ host: "unix:///run/docker.sock" }), { socketPath: "/run/docker.sock" });
        assert.deepEqual(connectionOptions({}, {}), { socketPath: "/var/run/docker.sock" });
        assert.deepEqual(connectionOptions({}, { DOCKER_HOST: "unix:///tmp/d.sock" }), { socketPath: "/tmp/d.sock" });
    });
    test("errors: an address it does not speak, and half of the TLS material", () => {
        assert.throws(() => connectionOptions({ host: "ssh://root@host" }), {
            message: `docker host "ssh://root@host" is not understood; dropyard speaks to unix:// sockets and tcp:// addresses`,
        });
        assert.throws(() => connectionOptions({ host: "tcp://h:2376", ca: "CA" }), {
            message: `docker host "tcp://h:2376": the state holds only part of the TLS client material (caMaterial, certMaterial, keyMaterial); run \`pulumi up\` again`,
        });
    });
});

describe("sandbox export", () => {
    const mark = (value: unknown) => ({ [SIG]: SECRET, value });
    const state: StackState = {
        version: 1,
        project: "counter",
        stack: "e2e",
        dir: "/x",
        retained: [],
        tree: [
            {
                key: "pulumi:pulumi:Stack::counter-e2e",
                type: "pulumi:pulumi:Stack",
                name: "counter-e2e",
                custom: false,
            },
            {
                key: "dropyard:index:Host::counter-host",
                type: "dropyard:index:Host",
                name: "counter-host",
                custom: false,
                parent: "pulumi:pulumi:Stack::counter-e2e",
            },
            {
                key: "pulumi:providers:docker::counter-host-docker",
                type: "pulumi:providers:docker",
                name: "counter-host-docker",
                custom: true,
                parent: "dropyard:index:Host::counter-host",
            },
            {
                key: "dropyard:index:App::counter",
                type: "dropyard:index:App",
                name: "counter",
                custom: false,
                parent: "pulumi:pulumi:Stack::counter-e2e",
            },
            {
                key: "docker:index/container:Container::counter-web-1",
                type: "docker:index/container:Container",
                name: "counter-web-1",
                custom: true,
                parent: "dropyard:index:App::counter",
            },
        ],
        resources: [
            {
                key: "pulumi:providers:docker::counter-host-docker",
                type: "pulumi:providers:docker",
                name: "counter-host-docker",
                hash: "h",
                rawInputs: { host: "unix:///var/run/docker.sock" },
                outputs: {},
                deps: [],
                options: {},
                socket: "/var/run/docker.sock",
            },
            {
                key: "docker:index/container:Container::counter-web-1",
                type: "docker:index/container:Container",
                name: "counter-web-1",
                hash: "h",
                rawInputs: {
                    image: "sha256:app",
                    envs: mark(["SECRET_KEY=sk-very-secret"]),
                    labels: [
                        { label: "dev.dropyard.app", value: "counter" },
                        { label: "dev.dropyard.process", value: "web" },
                    ],
                },
                outputs: { name: "counter-web-1-abc" },
                engineId: "c0ffee",
                provider: "pulumi:providers:docker::counter-host-docker",
                deps: [],
                options: {},
            },
        ],
    };

    test("writes Pulumi's format: URNs with the parent's type chain, parents, provider references, shown secrets", () => {
        const e = toExport(state);
        const web = e.deployment.resources.find(r => r.urn.endsWith("::counter-web-1"))!;
        assert.equal(
            web.urn,
            "urn:pulumi:e2e::counter::dropyard:index:App$docker:index/container:Container::counter-web-1",
        );
        assert.equal(web.parent, "urn:pulumi:e2e::counter::dropyard:index:App::counter");
        assert.equal(web.id, "c0ffee");
        assert.equal(
            web.provider,
            "urn:pulumi:e2e::counter::dropyard:index:Host$pulumi:providers:docker::counter-host-docker::counter-host-docker-sandbox",
        );
        assert.deepEqual(web.inputs!.envs, { [SIG]: SECRET, plaintext: JSON.stringify(["SECRET_KEY=sk-very-secret"]) });
        assert.equal(e.deployment.resources[0].type, "pulumi:pulumi:Stack");
    });

    test("reads back through the command's reader", () => {
        const m = readStackState(JSON.parse(JSON.stringify(toExport(state))), "sandbox");
        assert.equal(m.stack, "counter/e2e");
        assert.deepEqual(m.hosts, [
            {
                name: "counter-host",
                docker: { host: "unix:///var/run/docker.sock", ca: undefined, cert: undefined, key: undefined },
                owned: false,
            },
        ]);
        assert.deepEqual(
            m.apps.map(a => [a.name, a.host, a.containers.map(c => [c.name, c.id, c.process, c.envKeys])]),
            [["counter", "counter-host", [["counter-web-1-abc", "c0ffee", "web", ["SECRET_KEY"]]]]],
        );
    });

    test("a state of an older sandbox (no tree) still gives its containers by label and its host by provider", () => {
        const m = readStackState(toExport({ ...state, tree: undefined }), "sandbox");
        assert.deepEqual(
            m.hosts.map(h => h.name),
            ["counter-host-docker"],
        );
        assert.deepEqual(
            m.apps.map(a => [a.name, a.host]),
            [["counter", "counter-host-docker"]],
        );
    });
});
