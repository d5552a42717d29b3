// The public API of dropyard. Nothing outside this file is promised.
export { ConfigError } from "./errors";
export {
    AttachOptions,
    DropletTarget,
    Host,
    HostArgs,
    HostCommandArgs,
    HostExport,
    HostTarget,
    LocalTarget,
    ServerTarget,
} from "./host";
export { certificateFromConfig, domainFromConfig, hostFromConfig } from "./stack-config";
export { BridgeNet, BridgeNetArgs } from "./bridge-net";
export { App } from "./app/app";
export { AppArgs, AppHealthcheck, AppLogs, AppSchedule } from "./app/args";
export { Database, isDatabase } from "./database/database";
export { Postgres, PostgresArgs } from "./database/postgres";
export { MariaDB, MariaDBArgs } from "./database/mariadb";
export { BackupArgs, BackupBucket, BackupParts, BackupRetentionArgs } from "./database/backup";
export { DnsOptions } from "./dns";
export {
    AttachedEdge,
    Edge,
    EdgeArgs,
    EdgeFileArgs,
    EdgeFilesArgs,
    EdgeHost,
    EdgeNetworkRef,
    EdgeOptions,
} from "./edge";
export { EdgeRef } from "./render/edge-files";
export { NamedUpstream, NginxVhost, NginxVhostArgs, OwnCertificate, WebUpstream } from "./nginx-vhost";
export { LetsEncrypt, LetsEncryptArgs } from "./lets-encrypt";
export { defaultVhostTemplate } from "./render/nginx";
