// The public API of dropyard. Nothing outside this file is promised.
export { ConfigError } from "./errors";
export { DropletTarget, Host, HostArgs, HostCommandArgs, HostTarget, LocalTarget, ServerTarget } from "./host";
export { BridgeNet, BridgeNetArgs } from "./bridge-net";
export { Database, isDatabase } from "./database";
export { Postgres, PostgresArgs } from "./postgres";
export { MariaDB, MariaDBArgs } from "./mariadb";
