import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { configErrors } from "./errors";
import { Host } from "./host";
import { labels } from "./labels";
import { checkResourceName } from "./validate";
import { checkArgs } from "./check";
import { bridgeNetNames, claim, scopeOf } from "./claims";
import { BRIDGE_NET_ARGS } from "./schemas";

/** Arguments of a {@link BridgeNet}. */
export interface BridgeNetArgs {
    /** The host the network lives on. */
    readonly host: Host;
    /**
     * Cut the network off from the outside: containers on it reach each other and nothing else.
     * @default false
     */
    readonly internal?: boolean;
    /**
     * The Docker network's name, which is what containers join.
     * @default - the component's name
     */
    readonly networkName?: string;
}

/** A Docker bridge network. Containers join several to get exactly the reachability they need. */
export class BridgeNet extends pulumi.ComponentResource {
    /** The Docker network's name. */
    readonly networkName: pulumi.Output<string>;
    /** Whether the network is cut off from the outside. */
    readonly internal: boolean;
    /** The host the network lives on. */
    readonly host: Host;
    /** The underlying network resource. */
    readonly network: docker.Network;

    constructor(name: string, args: BridgeNetArgs, opts?: pulumi.ComponentResourceOptions) {
        const err = configErrors("BridgeNet", name, opts?.parent);
        checkArgs(err, BRIDGE_NET_ARGS, name, args);
        checkResourceName(err, args.networkName === undefined ? "name" : "networkName", args.networkName ?? name);
        if (!(args.host instanceof Host)) throw err("host", "is not a Host", "pass the Host the network belongs on");
        const names = bridgeNetNames(name, args.networkName);
        claim(err, scopeOf(args.host), `BridgeNet "${name}"`, names);
        super("dropyard:index:BridgeNet", name, {}, opts);
        this.host = args.host;
        this.internal = args.internal ?? false;
        this.network = new docker.Network(
            `${name}-network`,
            {
                name: names.network.name,
                driver: "bridge",
                internal: this.internal,
                labels: labels({ network: names.network.name }),
            },
            {
                parent: this,
                provider: args.host.provider,
                dependsOn: args.host.ready,
                // The name is fixed, so a replacement must remove the old network first.
                deleteBeforeReplace: true,
            },
        );
        this.networkName = this.network.name;
        this.registerOutputs({ networkName: this.networkName });
    }
}
