import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import { configErrors } from "./errors";
import { checkResourceName } from "./validate";

/** Run containers on the Docker engine of the machine running `pulumi up`. */
export interface LocalTarget {
    /**
     * The Docker endpoint to talk to.
     * @default "unix:///var/run/docker.sock"
     */
    readonly dockerHost?: string;
}

/**
 * Where a Host's containers run. Give exactly one of `droplet`, `server` or `local`.
 */
export interface HostArgs {
    /**
     * The local Docker engine; `true` for its defaults. Excludes `droplet` and `server`.
     * @example local: true
     */
    readonly local?: LocalTarget | true;
    /**
     * Directory on the host where dropyard keeps nginx config, certificates and the ACME webroot.
     * @default "/var/lib/dropyard" on a droplet or server; `~/.dropyard/<host name>` for `local`
     */
    readonly dataDir?: string;
}

/** Scripts a host command runs; see `Host.command`. */
export interface HostCommandArgs {
    /** Runs when the command is created and, when `update` is absent, whenever an input changes. */
    readonly create: pulumi.Input<string>;
    /** Runs when an input changes. @default - `create` runs again */
    readonly update?: pulumi.Input<string>;
    /** Runs when the command is deleted. @default - nothing runs */
    readonly delete?: pulumi.Input<string>;
    /** Environment for the scripts; mark values secret and they stay secret. @default {} */
    readonly environment?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Values whose change re-runs the command. @default [] */
    readonly triggers?: pulumi.Input<any[]>;
    /** Text fed to the script's standard input. */
    readonly stdin?: pulumi.Input<string>;
}

export type HostTarget = "local";

/**
 * Where containers run: the Docker engine, the address users reach, a way to run scripts on the
 * machine, and the directory dropyard keeps its files in. Every other component takes a Host.
 */
export class Host extends pulumi.ComponentResource {
    /** Which of `droplet`, `server`, `local` this host is. */
    readonly target: HostTarget;
    /** The name the host was given; child resources and labels use it. */
    readonly hostName: string;
    /** The Docker provider every container, image, network and volume on this host uses. */
    readonly provider: docker.Provider;
    /** The address users and DNS records point at. */
    readonly address: pulumi.Output<string>;
    /** The Docker endpoint, e.g. `tcp://203.0.113.10:2376` or `unix:///var/run/docker.sock`. */
    readonly dockerHost: pulumi.Output<string>;
    /** A command a person can paste to log in, or a note that there is nothing to log in to. */
    readonly sshCommand: pulumi.Output<string>;
    /** Directory on the host for dropyard's files (nginx config, certificates, ACME webroot). */
    readonly dataDir: string;
    /** Resources that must be finished before anything may run on the host (the bootstrap). */
    readonly ready: pulumi.Resource[];
    /** The network the edge nginx shares with every web container; apps join it under their alias. */
    readonly edgeNetwork: docker.Network;

    constructor(name: string, args: HostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dropyard:index:Host", name, {}, opts);
        const err = configErrors("Host", name);
        checkResourceName(err, "name", name);
        const targets = (["local"] as const).filter(t => args[t] !== undefined);
        if (targets.length !== 1) {
            throw err("target", targets.length === 0 ? "is missing" : `is given twice (${targets.join(" and ")})`,
                "give exactly one of droplet, server or local");
        }
        if (args.dataDir !== undefined && !path.isAbsolute(args.dataDir)) {
            throw err("dataDir", `"${args.dataDir}" is not an absolute path`, "use a path starting with /");
        }
        this.hostName = name;
        this.target = targets[0];

        const local = args.local === true ? {} : args.local!;
        const endpoint = local.dockerHost ?? "unix:///var/run/docker.sock";
        this.dataDir = args.dataDir ?? path.join(os.homedir(), ".dropyard", name);
        this.provider = new docker.Provider(`${name}-docker`, { host: endpoint }, { parent: this });
        this.address = pulumi.output("127.0.0.1");
        this.dockerHost = pulumi.output(endpoint);
        this.sshCommand = pulumi.output("(local host: no ssh needed)");
        this.ready = [];

        this.edgeNetwork = new docker.Network(`${name}-edge`, {
            name: `${name}-edge`,
            driver: "bridge",
            labels: [{ label: "dev.dropyard.host", value: name }],
        }, { parent: this, provider: this.provider, dependsOn: this.ready, deleteBeforeReplace: true });

        this.registerOutputs({ address: this.address, dockerHost: this.dockerHost, sshCommand: this.sshCommand });
    }

    /**
     * Runs scripts on the host with bash: `create` on creation, `update` (or `create`) when inputs
     * change, `delete` on removal. Waits for the host to be ready.
     */
    command(name: string, args: HostCommandArgs, opts: pulumi.CustomResourceOptions = {}): pulumi.CustomResource {
        const dependsOn = [...this.ready, ...toArray(opts.dependsOn)];
        return new command.local.Command(name, {
            interpreter: ["/bin/bash", "-c"],
            create: args.create,
            update: args.update,
            delete: args.delete,
            environment: args.environment,
            triggers: args.triggers,
            stdin: args.stdin,
        }, { parent: this, ...opts, dependsOn });
    }
}

function toArray(d: pulumi.ResourceOptions["dependsOn"]): pulumi.Input<pulumi.Resource>[] {
    if (d === undefined) return [];
    return Array.isArray(d) ? d : [d as pulumi.Input<pulumi.Resource>];
}
