// Property: for any arguments — arbitrary JSON-ish values, wrong types, undefined in lists, strings
// for lists, misspelt fields, and near-valid mutations of known-good arguments — every public
// constructor either succeeds or throws a ConfigError, never another exception, and registers no
// resource (not even itself) when it throws. Seeded, so a failure is reproducible; fast-check
// prints the seed and the shrunk counterexample.
import { after, test } from "node:test";
import * as assert from "node:assert/strict";
import fc from "fast-check";
import * as pulumi from "@pulumi/pulumi";
import { evaluate } from "../../sandbox/harness";
import { App, BridgeNet, ConfigError, Edge, Host, LetsEncrypt, MariaDB, NginxVhost, Postgres } from "../../lib";
import { appDir, FAKE_SSH_KEY } from "../support/fixtures";

const SEED = Number(process.env.DROPYARD_PROPERTY_SEED ?? 20261201);
const RUNS = Number(process.env.DROPYARD_PROPERTY_RUNS ?? 60);

const buildDir = appDir({ Procfile: "web: node server.js\nworker: node worker.js\nrelease: node migrate.js\n" });

/** What a case may refer to: a host and components on it, made before the construction under test. */
interface World {
    readonly host: Host;
    readonly db: Postgres;
    readonly net: BridgeNet;
    readonly app: App;
    readonly cert: LetsEncrypt;
}
/** A constructor under test: known-good arguments for case `i`, and how to construct with any arguments. */
interface Subject {
    readonly good: (w: World, i: number) => Record<string, unknown>;
    readonly make: (name: unknown, args: unknown, w: World) => unknown;
    readonly name: (i: number) => string;
}

const anyArgs = (a: unknown) => a as any;
const SUBJECTS: Record<string, Subject> = {
    Host: {
        name: i => `h${i}`,
        good: (_w, i) =>
            [
                {
                    local: { dockerHost: `unix:///run/h${i}.sock` },
                    dataDir: `/srv/h${i}`,
                    edge: { image: "nginx:1.30", httpPort: 8080, httpsPort: 8443, bindAddresses: ["127.0.0.1"] },
                },
                {
                    droplet: {
                        region: "fra1",
                        size: "s-1vcpu-1gb",
                        image: "ubuntu-24-04-x64",
                        tags: ["web"],
                        monitoring: true,
                        backups: false,
                        ipv6: true,
                        allowSsh: ["203.0.113.7/32"],
                        allowDocker: ["0.0.0.0/0"],
                        swapMiB: 512,
                    },
                },
                {
                    server: { address: `203.0.113.${i % 250}`, user: "ubuntu", port: 2222, privateKey: FAKE_SSH_KEY },
                    dataDir: "/opt/dy",
                },
            ][i % 3],
        make: (name, args) => new Host(anyArgs(name), anyArgs(args)),
    },
    BridgeNet: {
        name: i => `n${i}`,
        good: (w, i) => ({ host: w.host, internal: true, networkName: `net${i}` }),
        make: (name, args) => new BridgeNet(anyArgs(name), anyArgs(args)),
    },
    Postgres: {
        name: i => `pg${i}`,
        good: (w, i) => ({
            host: w.host,
            version: "16",
            image: "postgres:16",
            database: `db${i}`,
            user: "app",
            networks: [w.net],
            shmSize: 128,
        }),
        make: (name, args) => new Postgres(anyArgs(name), anyArgs(args)),
    },
    MariaDB: {
        name: i => `maria${i}`,
        good: (w, i) => ({
            host: w.host,
            version: "10.11",
            image: "mariadb:10.11",
            database: `db${i}`,
            user: "app",
            networks: [w.net],
        }),
        make: (name, args) => new MariaDB(anyArgs(name), anyArgs(args)),
    },
    App: {
        name: i => `app${i}`,
        good: (w, i) =>
            i % 2 === 0
                ? {
                      host: w.host,
                      build: buildDir,
                      singletons: ["worker"],
                      port: 8000,
                      replicas: 2,
                      env: { A: "1" },
                      secrets: { B: "2" },
                      link: [w.db],
                      networks: [w.net],
                      volumes: { data: "/data" },
                      healthcheck: { command: ["true"], interval: 2, timeout: 2, retries: 2, startPeriod: 5 },
                      logs: { maxSize: "5m", maxFiles: 2 },
                      stopGraceSeconds: 10,
                      public: true,
                      web: true,
                  }
                : {
                      host: w.host,
                      image: "nginx:1.30",
                      processes: { web: "nginx -g 'daemon off;'", release: "true" },
                      port: 80,
                      healthcheck: false,
                      volumes: { html: "/usr/share/nginx/html" },
                  },
        make: (name, args) => new App(anyArgs(name), anyArgs(args)),
    },
    NginxVhost: {
        name: i => `site${i}`,
        good: (w, i) =>
            i % 2 === 0
                ? {
                      host: w.host,
                      domains: [`s${i}.example.com`, `www.s${i}.example.com`],
                      upstream: w.app,
                      tls: "self-signed",
                      hsts: { maxAge: 600, includeSubDomains: true, preload: false },
                      clientMaxBodySize: "10m",
                      proxyTimeouts: { connect: 5, send: 30, read: 30 },
                      websockets: true,
                      gzip: false,
                      extraConfig: "add_header X-A b;",
                  }
                : {
                      host: w.host,
                      domains: [`s${i}.example.com`],
                      upstream: { name: "web", port: 80 },
                      tls: {
                          cert: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n",
                          key: pulumi.secret(FAKE_SSH_KEY),
                      },
                  },
        make: (name, args) => new NginxVhost(anyArgs(name), anyArgs(args)),
    },
    LetsEncrypt: {
        name: i => `cert${i}`,
        good: (w, i) => ({
            host: w.host,
            domains: [`c${i}.example.com`],
            email: "ops@example.com",
            server: "https://pebble:14000/dir",
            image: "certbot/certbot:v4.0.0",
            autoRenew: true,
            networks: ["pebble"],
            serverCaBundle: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n",
        }),
        make: (name, args) => new LetsEncrypt(anyArgs(name), anyArgs(args)),
    },
    Edge: {
        name: i => `edge${i}`,
        good: w => ({ host: w.host, image: "nginx:1.30" }),
        make: (name, args) => new Edge(anyArgs(name), anyArgs(args)),
    },
    "Host.command": {
        name: i => `cmd${i}`,
        good: () => ({
            create: "true",
            update: "true",
            delete: "true",
            environment: { A: "1" },
            triggers: ["x"],
            stdin: "in",
        }),
        make: (name, args, w) => w.host.command(anyArgs(name), anyArgs(args)),
    },
};

// --- generated values ------------------------------------------------------------------------------

/** Values a stack program might really pass: plain JSON-ish data, with the usual suspects weighted in. */
const value: fc.Arbitrary<unknown> = fc.letrec(tie => ({
    v: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        fc.constantFrom(
            undefined,
            null,
            true,
            false,
            0,
            -1,
            1.5,
            17,
            65536,
            NaN,
            Infinity,
            "",
            " ",
            "/",
            "a",
            "17",
            "true",
            "self-signed",
            "/data",
            "/data/",
            "data",
            "unix:///var/run/docker.sock",
            "a.example.com",
            "*.example.com",
            "web",
            "x".repeat(70),
        ),
        fc.integer(),
        fc.double(),
        fc.string({ maxLength: 12 }),
        fc.array(tie("v"), { maxLength: 3 }),
        fc.dictionary(fc.string({ maxLength: 6 }), tie("v"), { maxKeys: 3, noNullPrototype: true }),
    ),
})).v;

type Step = (string | number)[];
/** Every path into plain objects and lists of `v` (class instances such as a Host are leaves). */
function pathsOf(v: unknown, at: Step = []): Step[] {
    if (Array.isArray(v)) return [at, ...v.flatMap((x, i) => pathsOf(x, [...at, i]))];
    if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
        return [at, ...Object.entries(v).flatMap(([k, x]) => pathsOf(x, [...at, k]))];
    }
    return [at];
}

interface Mutation {
    readonly path: number;
    readonly op: "set" | "delete" | "undefinedInList" | "stringify" | "wrapInList" | "unknownField";
    readonly value: unknown;
}
const mutation: fc.Arbitrary<Mutation> = fc.record({
    path: fc.nat(),
    op: fc.constantFrom("set", "set", "set", "delete", "undefinedInList", "stringify", "wrapInList", "unknownField"),
    value,
});

/** Applies mutations to a deep copy of `good` (class instances shared, not copied). */
function mutate(good: Record<string, unknown>, ms: readonly Mutation[]): unknown {
    const copy = (v: unknown): unknown =>
        Array.isArray(v)
            ? v.map(copy)
            : v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype
              ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copy(x)]))
              : v;
    let root: unknown = copy(good);
    for (const m of ms) {
        const paths = pathsOf(root);
        const p = paths[m.path % paths.length];
        const get = (s: Step) => s.reduce<any>((o, k) => o?.[k], root);
        const set = (s: Step, x: unknown) => {
            if (s.length === 0) root = x;
            else get(s.slice(0, -1))[s[s.length - 1]] = x;
        };
        const current = get(p);
        switch (m.op) {
            case "set":
                set(p, m.value);
                break;
            case "delete":
                if (p.length > 0) {
                    const parent = get(p.slice(0, -1));
                    if (Array.isArray(parent)) parent.splice(Number(p[p.length - 1]), 1);
                    else delete parent[p[p.length - 1]];
                }
                break;
            case "undefinedInList":
                if (Array.isArray(current)) current.push(undefined);
                else set(p, [current, undefined]);
                break;
            case "stringify":
                set(p, typeof current === "object" && current !== null ? show(current) : String(current));
                break;
            case "wrapInList":
                set(p, [current]);
                break;
            case "unknownField":
                if (current !== null && typeof current === "object" && !Array.isArray(current))
                    (current as Record<string, unknown>).extra = m.value;
                break;
        }
    }
    return root;
}

interface Case {
    readonly kind: "mutated" | "arbitrary" | "good";
    readonly mutations: readonly Mutation[];
    readonly args: unknown;
    readonly name: unknown;
    readonly useName: boolean;
}
const cases: fc.Arbitrary<Case> = fc.oneof(
    {
        weight: 6,
        arbitrary: fc.record({
            kind: fc.constant("mutated" as const),
            mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }),
            args: fc.constant(undefined),
            name: value,
            useName: fc.constant(false),
        }),
    },
    {
        weight: 2,
        arbitrary: fc.record({
            kind: fc.constant("arbitrary" as const),
            mutations: fc.constant([]),
            args: value,
            name: value,
            useName: fc.boolean(),
        }),
    },
    {
        weight: 1,
        arbitrary: fc.record({
            kind: fc.constant("good" as const),
            mutations: fc.constant([]),
            args: fc.constant(undefined),
            name: value,
            useName: fc.constant(false),
        }),
    },
);

// --- the property ----------------------------------------------------------------------------------

const stats = { cases: 0, succeeded: 0, refused: 0 };
after(() =>
    console.log(
        `# property cases: ${stats.cases} (${stats.succeeded} constructed, ${stats.refused} refused with a ConfigError), seed ${SEED}`,
    ),
);

for (const [n, [subject, s]] of Object.entries(SUBJECTS).entries()) {
    test(`${subject}: any arguments construct or throw a ConfigError, registering nothing when they throw`, async () => {
        let outcome: fc.RunDetails<[Case]> | undefined;
        await evaluate(async () => {
            let registered = 0;
            pulumi.runtime.registerStackTransformation(() => {
                registered++;
                return undefined;
            });
            const host = new Host("world", { local: { dockerHost: "unix:///run/world.sock" }, dataDir: "/srv/world" });
            const net = new BridgeNet("world-net", { host });
            const db = new Postgres("world-db", { host });
            const app = new App("world-app", { host, image: "nginx:1.30" });
            const cert = new LetsEncrypt("world-cert", {
                host,
                domains: ["world.example.com"],
                email: "ops@example.com",
            });
            const w: World = { host, net, db, app, cert };
            let i = 0;
            outcome = fc.check(
                fc.property(cases, c => {
                    i++;
                    stats.cases++;
                    const good = s.good(w, i);
                    const args = c.kind === "arbitrary" ? c.args : c.kind === "good" ? good : mutate(good, c.mutations);
                    const name = c.useName ? c.name : s.name(i);
                    const before = registered;
                    try {
                        s.make(name, args, w);
                        stats.succeeded++;
                    } catch (e) {
                        // Known-good arguments must construct: the checks refuse nothing valid
                        // (an Edge is always the host's own).
                        if (c.kind === "good" && subject !== "Edge")
                            throw new Error(`good arguments refused: ${(e as Error).message}`);
                        if (!(e instanceof ConfigError))
                            throw new Error(
                                `not a ConfigError for ${subject} ${JSON.stringify(name)} ${show(args)}: ${(e as Error)?.stack ?? String(e)}`,
                            );
                        assert.equal(
                            registered,
                            before,
                            `${e.message}: ${registered - before} resource(s) registered before the throw`,
                        );
                        assert.match(
                            e.message,
                            /^[A-Za-z.]+ ".*": \S.* .*; .+$/s,
                            'the message reads <Component> "<name>": <field> <problem>; <fix>',
                        );
                        stats.refused++;
                    }
                }),
                { seed: SEED + n, numRuns: RUNS, endOnFailure: true },
            );
        });
        // Reported here rather than thrown inside the program, so the evaluation ends cleanly.
        if (outcome?.failed)
            throw new Error(
                `${fc.defaultReportMessage(outcome)}\nError: ${String((outcome.errorInstance as Error)?.message ?? outcome.errorInstance)}`,
            );
    });
}

function show(v: unknown): string {
    try {
        return JSON.stringify(v, (_k, x) =>
            x === undefined
                ? "<undefined>"
                : typeof x === "number" && !Number.isFinite(x)
                  ? String(x)
                  : x instanceof pulumi.Resource
                    ? `<${x.constructor.name}>`
                    : x,
        );
    } catch {
        return String(v);
    }
}
