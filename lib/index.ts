// The public API of dropyard. Nothing outside this file is promised.
export { ConfigError } from "./errors";
export { Host, HostArgs, HostCommandArgs, HostTarget, LocalTarget } from "./host";
export { BridgeNet, BridgeNetArgs } from "./bridge-net";
