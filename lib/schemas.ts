// One schema per public Args type (lib/index.ts): the runtime types `checkArgs` enforces before a
// component's own checks run. `object<T>` makes the compiler hold each field list to its interface:
// a field added to an Args interface without a schema here does not compile.
import type { AppArgs, AppHealthcheck, AppLogs, AppSchedule } from "./app/args";
import type { BridgeNetArgs } from "./bridge-net";
import type { DnsOptions } from "./dns";
import type { EdgeArgs, EdgeOptions } from "./edge";
import type { DropletTarget, HostArgs, HostCommandArgs, LocalTarget, ServerTarget } from "./host";
import type { LetsEncryptArgs } from "./lets-encrypt";
import type { MariaDBArgs } from "./database/mariadb";
import type { NamedUpstream, NginxVhostArgs, OwnCertificate } from "./nginx-vhost";
import type { PostgresArgs } from "./database/postgres";
import type { BackupArgs, BackupBucket, BackupRetentionArgs } from "./database/backup";
import {
    anyObject,
    anything,
    boolean,
    input,
    list,
    literal,
    number,
    object,
    present,
    record,
    required,
    Schema,
    string,
    union,
} from "./check";

const dns = object<DnsOptions>("a DnsOptions object ({ zone, ttl? })", { zone: required(string), ttl: number });
const strings = list(string);

export const DROPLET_TARGET = object<DropletTarget>("a DropletTarget object", {
    region: string,
    size: string,
    image: string,
    tags: strings,
    monitoring: boolean,
    backups: boolean,
    ipv6: boolean,
    allowSsh: strings,
    allowDocker: strings,
    swapMiB: number,
});
export const SERVER_TARGET = object<ServerTarget>("a ServerTarget object ({ address, privateKey, user?, port? })", {
    address: required(string),
    user: string,
    port: number,
    privateKey: required(input(string)),
});
export const LOCAL_TARGET = object<LocalTarget>("a LocalTarget object ({ dockerHost? })", { dockerHost: string });
export const EDGE_OPTIONS = {
    image: string,
    httpPort: number,
    httpsPort: number,
    bindAddresses: strings,
};

export const HOST_ARGS = object<HostArgs>("a HostArgs object ({ droplet | server | local, ... })", {
    droplet: union("true or a DropletTarget object", literal(true), DROPLET_TARGET),
    server: SERVER_TARGET,
    local: union("true or a LocalTarget object", literal(true), LOCAL_TARGET),
    dataDir: string,
    edge: object<EdgeOptions>("an EdgeOptions object", EDGE_OPTIONS),
});

export const EDGE_ARGS = object<EdgeArgs>("an EdgeArgs object", { host: required(present("a Host")), ...EDGE_OPTIONS });

export const HOST_COMMAND_ARGS = object<HostCommandArgs>("a HostCommandArgs object ({ create, ... })", {
    create: required(input(string)),
    update: input(string),
    delete: input(string),
    environment: input(record(input(string))),
    triggers: input(list(anything, { expected: "a list" })),
    stdin: input(string),
});

export const BRIDGE_NET_ARGS = object<BridgeNetArgs>("a BridgeNetArgs object ({ host, ... })", {
    host: required(present("a Host")),
    internal: boolean,
    networkName: string,
});

const bridgeNets = list(present("a BridgeNet"), {
    expected: "a list of BridgeNets",
    fix: "pass an array of BridgeNet, e.g. networks: [frontnet]",
});
const BACKUP = object<BackupArgs>("a BackupArgs object ({ schedule?, retention?, directory?, bucket?, ... })", {
    schedule: string,
    retention: object<BackupRetentionArgs>("a retention object ({ daily?, weekly?, monthly? })", {
        daily: number,
        weekly: number,
        monthly: number,
    }),
    directory: string,
    bucket: object<BackupBucket>(
        "a BackupBucket object ({ endpoint, region, bucket, accessKeyId, secretAccessKey, path? })",
        {
            endpoint: required(string),
            region: required(string),
            bucket: required(string),
            path: string,
            accessKeyId: required(input(string)),
            secretAccessKey: required(input(string)),
        },
    ),
    passphrase: input(string),
    image: string,
    cron: boolean,
    networks: list(input(string)),
    caBundle: input(string),
});
const SERVER = {
    host: required(present("a Host")),
    version: string,
    image: string,
    database: string,
    user: string,
    networks: bridgeNets,
    backup: union("true or a BackupArgs object", literal(true), BACKUP),
};
export const POSTGRES_ARGS = object<PostgresArgs>("a PostgresArgs object ({ host, ... })", {
    ...SERVER,
    shmSize: number,
});
export const MARIADB_ARGS = object<MariaDBArgs>("a MariaDBArgs object ({ host, ... })", SERVER);

const env = record(input(string));
export const APP_ARGS = object<AppArgs>("an AppArgs object ({ host, build | image, ... })", {
    host: required(present("a Host")),
    build: string,
    image: string,
    processes: record(string),
    singletons: strings,
    web: boolean,
    public: boolean,
    port: number,
    replicas: number,
    env,
    secrets: env,
    link: list(anyObject, {
        expected: "a list of databases",
        fix: "pass an array of Postgres or MariaDB, e.g. link: [db]",
    }),
    networks: bridgeNets,
    volumes: record(string),
    healthcheck: union(
        "false or an AppHealthcheck object",
        literal(false),
        object<AppHealthcheck>("an AppHealthcheck object", {
            command: union("a string or a list of strings", string, strings),
            interval: number,
            timeout: number,
            retries: number,
            startPeriod: number,
        }),
    ),
    logs: object<AppLogs>("an AppLogs object ({ maxSize?, maxFiles? })", { maxSize: string, maxFiles: number }),
    stopGraceSeconds: number,
    keepReleases: number,
    schedules: record(
        object<AppSchedule>("an AppSchedule object ({ cron, command })", {
            cron: required(string),
            command: required(string),
        }),
    ),
});

/** `{ name, port }`; an App (a class instance) is checked by the vhost itself. */
const NAMED_UPSTREAM = object<NamedUpstream>("{ name, port }", { name: required(string), port: required(number) });
const UPSTREAM: Schema = union(
    "an App or { name, port }",
    { ...NAMED_UPSTREAM, matches: v => NAMED_UPSTREAM.matches(v) && !("hasWeb" in (v as object)) },
    anyObject,
);

export const NGINX_VHOST_ARGS = object<NginxVhostArgs>("an NginxVhostArgs object ({ host, upstream, ... })", {
    host: required(present("a Host")),
    domains: strings,
    upstream: required(UPSTREAM),
    tls: union(
        'a LetsEncrypt, "self-signed" or { cert, key }',
        literal("self-signed"),
        object<OwnCertificate>("{ cert, key }", { cert: required(input(string)), key: required(input(string)) }),
        // A LetsEncrypt (a class instance); the vhost checks what it is.
        { ...anyObject, matches: v => anyObject.matches(v) && Object.getPrototypeOf(v) !== Object.prototype },
    ),
    hsts: union(
        "false or { maxAge?, includeSubDomains?, preload? }",
        literal(false),
        object<Exclude<NginxVhostArgs["hsts"], false | undefined>>("{ maxAge?, includeSubDomains?, preload? }", {
            maxAge: number,
            includeSubDomains: boolean,
            preload: boolean,
        }),
    ),
    clientMaxBodySize: string,
    proxyTimeouts: object<NonNullable<NginxVhostArgs["proxyTimeouts"]>>("{ connect?, send?, read? }", {
        connect: number,
        send: number,
        read: number,
    }),
    websockets: boolean,
    gzip: boolean,
    extraConfig: string,
    template: string,
    dns,
});

export const LETS_ENCRYPT_ARGS = object<LetsEncryptArgs>("a LetsEncryptArgs object ({ host, domains, ... })", {
    host: required(present("a Host")),
    domains: required(strings),
    email: string,
    staging: boolean,
    server: string,
    image: string,
    autoRenew: boolean,
    dns,
    networks: list(input(string)),
    serverCaBundle: input(string),
});
