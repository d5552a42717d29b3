// A stack's state as `pulumi stack export --show-secrets` prints it: one Host reached over TCP with
// mutual TLS, a Postgres database and an App with a web and a worker container; secret values marked.
export const SIG = "4dabf18193072939515e22adb298388d";
export const SECRET = "1b47061264138c4ac30d75fd1eb44270";
/** A value as `pulumi stack export --show-secrets` writes a secret: its JSON text under `plaintext`. */
export const shown = (v: unknown) => ({ [SIG]: SECRET, plaintext: JSON.stringify(v) });

export const P = "urn:pulumi:prod::counter::";
export const EXPORT = {
    version: 3,
    deployment: {
        manifest: { time: "2026-12-01T10:00:00Z", magic: "x", version: "v3.200.0" },
        resources: [
            { urn: `${P}pulumi:pulumi:Stack::counter-prod`, custom: false, type: "pulumi:pulumi:Stack" },
            {
                urn: `${P}dropyard:index:Host::counter-host`,
                custom: false,
                type: "dropyard:index:Host",
                parent: `${P}pulumi:pulumi:Stack::counter-prod`,
            },
            {
                urn: `${P}dropyard:index:Host$pulumi:providers:docker::counter-host-docker`,
                custom: true,
                id: "0b5c-provider",
                type: "pulumi:providers:docker",
                parent: `${P}dropyard:index:Host::counter-host`,
                inputs: {
                    host: "tcp://203.0.113.10:2376",
                    caMaterial: shown("CA-PEM"),
                    certMaterial: shown("CERT-PEM"),
                    keyMaterial: shown("KEY-PEM-very-secret"),
                },
            },
            { urn: `${P}dropyard:index:Postgres::counter-db`, custom: false, type: "dropyard:index:Postgres" },
            {
                urn: `${P}dropyard:index:Postgres$docker:index/container:Container::counter-db-container`,
                custom: true,
                id: "db0123",
                type: "docker:index/container:Container",
                parent: `${P}dropyard:index:Postgres::counter-db`,
                provider: `${P}dropyard:index:Host$pulumi:providers:docker::counter-host-docker::0b5c-provider`,
                inputs: {
                    name: "counter-db",
                    image: "sha256:pg",
                    envs: shown(["POSTGRES_PASSWORD=pg-pass-very-secret"]),
                },
                outputs: { name: "counter-db", image: "sha256:pg" },
            },
            { urn: `${P}dropyard:index:App::counter`, custom: false, type: "dropyard:index:App" },
            {
                urn: `${P}dropyard:index:App$docker:index/container:Container::counter-web-1`,
                custom: true,
                id: "web0123",
                type: "docker:index/container:Container",
                parent: `${P}dropyard:index:App::counter`,
                provider: `${P}dropyard:index:Host$pulumi:providers:docker::counter-host-docker::0b5c-provider`,
                inputs: {
                    image: "sha256:app",
                    labels: [
                        { label: "dev.dropyard.app", value: "counter" },
                        { label: "dev.dropyard.process", value: "web" },
                    ],
                    envs: shown(["DATABASE_URL=postgres://app:db-pass-very-secret@counter-db/counter", "PORT=8000"]),
                },
                outputs: {
                    name: "counter-web-1-4f2a1b0",
                    labels: [
                        { label: "dev.dropyard.app", value: "counter" },
                        { label: "dev.dropyard.process", value: "web" },
                    ],
                },
            },
            {
                urn: `${P}dropyard:index:App$docker:index/container:Container::counter-worker`,
                custom: true,
                id: "worker0123",
                type: "docker:index/container:Container",
                parent: `${P}dropyard:index:App::counter`,
                provider: `${P}dropyard:index:Host$pulumi:providers:docker::counter-host-docker::0b5c-provider`,
                inputs: {
                    image: "sha256:app",
                    labels: [
                        { label: "dev.dropyard.app", value: "counter" },
                        { label: "dev.dropyard.process", value: "worker" },
                    ],
                    envs: ["PORT=1"],
                },
                outputs: { name: "counter-worker-9a8b7c6" },
            },
        ],
    },
};
