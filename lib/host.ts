import * as os from "node:os";
import * as path from "node:path";
import { isIP } from "node:net";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as digitalocean from "@pulumi/digitalocean";
import * as docker from "@pulumi/docker";
import { configErrors, ErrorFactory } from "./errors";
import { checkDockerHost, checkPort, checkPrivateKey, checkResourceName, isDomain } from "./validate";
import { checkArgs } from "./check";
import { bindHost, claim, HostScope, hostNames, hostScope, Name } from "./claims";
import { ownedObjects } from "./ownership";
import { renderOwnershipCheck } from "./render/ownership";
import { HOST_ARGS, HOST_COMMAND_ARGS } from "./schemas";
import { CreatedDroplet, createDroplet, DropletTarget, normalizeDroplet } from "./droplet";
import { createDockerTls, DockerTls, DockerTlsNames } from "./host-tls";
import { DOCKER_TLS_PORT, renderBootstrap, renderRemoteCommand } from "./render/bootstrap";
import { checkEdgeOptions, Edge, EdgeNetworkRef, EdgeOptions } from "./edge";
import { dependencies, HostCommandArgs } from "./host-command";
import { labels } from "./labels";
import { HOST_EXPORT_VERSION, HostExport, parseHostExport } from "./host-export";

export { DropletTarget } from "./droplet";
export { HostCommandArgs } from "./host-command";
export { HostExport } from "./host-export";

/** Options of `Host.attach` and `Host.fromStack`. */
export interface AttachOptions extends pulumi.ComponentResourceOptions {
    /**
     * Where the value came from, for error messages, e.g. `output "host" of stack "org/infra/prod"`.
     * @default "the value given to Host.attach"
     */
    readonly source?: string;
}

/** The key under which `Host.attach` hands the checked export to the constructor. */
const ATTACH = Symbol("dropyard.attach");

/** Run containers on the Docker engine of the machine running `pulumi up`. */
export interface LocalTarget {
    /**
     * The Docker endpoint to talk to.
     * @default "unix:///var/run/docker.sock"
     */
    readonly dockerHost?: string;
}

/** An existing Ubuntu or Debian machine reachable over SSH; it gets the same bootstrap as a droplet. */
export interface ServerTarget {
    /**
     * IP address or DNS name the machine is reached at; the Docker API's certificate is made for it.
     * @example "203.0.113.10"
     */
    readonly address: string;
    /** SSH user; other users than root need passwordless sudo. @default "root" */
    readonly user?: string;
    /** SSH port. @default 22 */
    readonly port?: number;
    /** The SSH private key (OpenSSH or PEM); always treated as a secret. */
    readonly privateKey: pulumi.Input<string>;
}

/**
 * Where a Host's containers run. Give exactly one of `droplet`, `server` or `local`.
 */
export interface HostArgs {
    /**
     * A new DigitalOcean droplet with a cloud firewall; `true` for its defaults. Excludes `server` and `local`.
     * Changing its cloud-init user data or SSH key replaces the droplet (and its disk).
     * @example droplet: { region: "fra1", size: "s-1vcpu-2gb" }
     */
    readonly droplet?: DropletTarget | true;
    /**
     * An existing machine reachable over SSH. Excludes `droplet` and `local`.
     * @example server: { address: "203.0.113.10", privateKey: config.requireSecret("sshKey") }
     */
    readonly server?: ServerTarget;
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
    /**
     * The edge nginx: its image, published ports and bind addresses.
     * @default - nginx:1.30 on ports 80 and 443 (see EdgeOptions)
     */
    readonly edge?: EdgeOptions;
}

/** Which kind of machine a Host is: a new droplet, an existing server, or the local engine. */
export type HostTarget = "droplet" | "server" | "local";

const TARGETS = ["droplet", "server", "local"] as const;
const POSIX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;

/** How the bootstrap and host commands reach a droplet or server. */
interface Remote {
    readonly connection: pulumi.Output<command.types.input.remote.ConnectionArgs>;
    /** Commands run under `sudo -n` when the SSH user is not root. */
    readonly sudo: boolean;
}

/** How host commands reach a machine over SSH: the same dial settings for an owned and an attached host. */
function remoteOver(ssh: {
    readonly host: pulumi.Input<string>;
    readonly user: string;
    readonly port: number;
    readonly privateKey: pulumi.Input<string>;
}): Remote {
    return {
        // A new droplet's sshd comes up a minute or more after the API says "active":
        // keep dialling for ~5 minutes.
        connection: pulumi.secret(
            pulumi.output({
                host: ssh.host,
                user: ssh.user,
                port: ssh.port,
                privateKey: ssh.privateKey,
                dialErrorLimit: 20,
                perDialTimeout: 15,
            }),
        ),
        sudo: ssh.user !== "root",
    };
}

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
    /** The address users and DNS records point at (the droplet's public IPv4 address). */
    readonly address: pulumi.Output<string>;
    /** The droplet's public IPv6 address, when `droplet.ipv6` is on. */
    readonly ipv6Address?: pulumi.Output<string>;
    /** On a `local` host, the engine endpoint host commands' docker CLI must use. */
    private readonly localEndpoint?: string;
    /** The Docker endpoint, e.g. `tcp://203.0.113.10:2376` or `unix:///var/run/docker.sock`. */
    readonly dockerHost: pulumi.Output<string>;
    /**
     * A command a person can paste to log in, or a note that there is nothing to log in to. For a
     * droplet it reads the key from `~/.ssh/dropyard-<host name>`; write it there from `sshPrivateKey`,
     * e.g. `pulumi stack output --show-secrets sshKey > ~/.ssh/dropyard-prod` after
     * `export const sshKey = host.sshPrivateKey`.
     */
    readonly sshCommand: pulumi.Output<string>;
    /** The SSH private key (OpenSSH format) for a droplet or server, as a secret; absent for `local`. */
    readonly sshPrivateKey?: pulumi.Output<string>;
    /** The droplet itself, for DNS records, reserved IPs or projects; absent unless the target is `droplet`. */
    readonly droplet?: digitalocean.Droplet;
    /** Directory on the host for dropyard's files (nginx config, certificates, ACME webroot). */
    readonly dataDir: string;
    /** Resources that must be finished before anything may run on the host (the bootstrap). */
    readonly ready: pulumi.Resource[];
    /**
     * The network the edge nginx shares with every web container; apps join it under their alias. An
     * attached host only names it (the host's stack owns it).
     */
    readonly edgeNetwork: EdgeNetworkRef;
    /**
     * Whether this Host stands for one another stack owns (`Host.attach`, `Host.fromStack`): it creates
     * no droplet, bootstrap, edge or edge network, and only writes its own edge files and reloads.
     */
    readonly attached: boolean;
    /**
     * The one value other stacks attach to this host with: export it (`export const host = host.exported`)
     * and call `Host.fromStack` there. A secret on a droplet or server (it carries the SSH and Docker keys).
     */
    readonly exported: pulumi.Output<HostExport>;
    /** The host's nginx: publishes 80/443 and serves every NginxVhost and ACME challenge. */
    readonly edge: Edge<Host>;

    /** How to reach a droplet or server over SSH; undefined for `local`. */
    private readonly remote?: Remote;

    /**
     * The Host another stack exports (`export const host = host.exported` there), read through a
     * `pulumi.StackReference`. Everything works on it as on the host's own stack; it never creates or
     * restarts the edge. Awaited, because what it finds decides what this stack creates.
     * @example const host = await Host.fromStack("host", "acme/infra/prod");
     */
    static async fromStack(
        name: string,
        stack: string,
        opts: AttachOptions & { readonly output?: string } = {},
    ): Promise<Host> {
        const output = opts.output ?? "host";
        const ref = new pulumi.StackReference(`${name}-stack`, { name: stack }, { parent: opts.parent });
        const { output: _o, ...rest } = opts;
        void _o;
        const details = await ref.getOutputDetails(output);
        return Host.attach(name, details.secretValue ?? details.value, {
            source: `output "${output}" of stack "${stack}"`,
            ...rest,
            dependsOn: [ref],
        });
    }

    /**
     * A Host for the value `Host.exported` of a host-owning stack (see `fromStack`). An error names
     * `opts.source` and what was found when the value is not a dropyard host or has another format version.
     */
    static async attach(name: string, exported: pulumi.Input<unknown>, opts: AttachOptions = {}): Promise<Host> {
        const { source, ...resourceOpts } = opts;
        const out = pulumi.output(exported as pulumi.Input<object>) as pulumi.Output<unknown>;
        const value = await new Promise<unknown>(resolve => {
            out.apply(v => {
                resolve(v);
                return v;
            });
        });
        const err = configErrors("Host", name, opts.parent);
        const x = parseHostExport(err, source ?? "the value given to Host.attach", value);
        return new Host(name, { [ATTACH]: x } as HostArgs, resourceOpts);
    }

    constructor(name: string, args: HostArgs, opts?: pulumi.ComponentResourceOptions) {
        // Every check, and the claim of the host's names, before the component itself exists.
        const err = configErrors("Host", name, opts?.parent);
        const attach = (args as { [ATTACH]?: HostExport })[ATTACH];
        if (attach !== undefined) {
            checkResourceName(err, "name", name);
            const names = hostNames(attach.hostName, attach.dataDir, true, attach.edge);
            const scope = hostScope(
                attach.hostName,
                attach.target === "local"
                    ? { local: attach.dockerHost }
                    : { server: `${attach.ssh!.host}:${attach.ssh!.port}` },
                names,
            );
            super("dropyard:index:Host", name, {}, opts);
            bindHost(this, scope);
            this.attached = true;
            this.hostName = attach.hostName;
            this.target = attach.target;
            this.dataDir = attach.dataDir;
            this.address = pulumi.output(attach.address);
            this.dockerHost = pulumi.output(attach.dockerHost);
            this.ready = [];
            this.edgeNetwork = { name: pulumi.output(attach.edge.network) };
            if (attach.target === "local") {
                this.localEndpoint = attach.dockerHost;
                this.provider = new docker.Provider(`${name}-docker`, { host: attach.dockerHost }, { parent: this });
                this.sshCommand = pulumi.output("(local host: no ssh needed)");
            } else {
                const ssh = attach.ssh!;
                this.remote = remoteOver(ssh);
                this.sshPrivateKey = pulumi.secret(ssh.privateKey);
                this.sshCommand = pulumi.output(
                    `ssh${ssh.port === 22 ? "" : ` -p ${ssh.port}`} ${ssh.user}@${ssh.host}`,
                );
                this.provider = new docker.Provider(
                    `${name}-docker`,
                    {
                        host: attach.dockerHost,
                        caMaterial: attach.docker!.caPem,
                        certMaterial: attach.docker!.certPem,
                        keyMaterial: pulumi.secret(attach.docker!.keyPem),
                    },
                    { parent: this },
                );
            }
            this.watchOwnership(name, scope, []);
            this.edge = new Edge(`${name}-edge`, { host: this }, { parent: this }, attach.edge);
            this.exported = attach.target === "local" ? pulumi.output(attach) : pulumi.secret(attach);
            this.registerOutputs({ address: this.address, dockerHost: this.dockerHost });
            return;
        }
        checkArgs(err, HOST_ARGS, name, args);
        checkResourceName(err, "name", name);
        const targets = TARGETS.filter(t => args[t] !== undefined);
        if (targets.length !== 1) {
            throw err(
                "target",
                targets.length === 0 ? "is missing" : `is given more than once (${targets.join(" and ")})`,
                "give exactly one of droplet, server or local",
            );
        }
        if (args.dataDir !== undefined && !path.isAbsolute(args.dataDir)) {
            throw err("dataDir", `"${args.dataDir}" is not an absolute path`, "use a path starting with /");
        }
        checkEdgeOptions(err, args.edge);
        const droplet = args.droplet !== undefined ? normalizeDroplet(err, args.droplet) : undefined;
        const server = args.server !== undefined ? normalizeServer(err, args.server) : undefined;
        const local = args.local === undefined ? undefined : args.local === true ? {} : args.local;
        const endpoint = local?.dockerHost ?? "unix:///var/run/docker.sock";
        if (local !== undefined) checkDockerHost(err, "local.dockerHost", endpoint);
        const dataDir =
            args.dataDir !== undefined
                ? path.posix.normalize(args.dataDir).replace(/(.)\/+$/, "$1")
                : local !== undefined
                  ? path.join(os.homedir(), ".dropyard", name)
                  : "/var/lib/dropyard";
        const names = hostNames(name, dataDir, args.dataDir !== undefined, {
            bindAddresses: args.edge?.bindAddresses ?? (local !== undefined ? ["127.0.0.1"] : ["0.0.0.0", "::"]),
            httpPort: args.edge?.httpPort ?? 80,
            httpsPort: args.edge?.httpsPort ?? 443,
        });
        const scope = hostScope(
            name,
            {
                local: local && endpoint,
                server: server && `${server.address}:${server.port}`,
                droplet: droplet && true,
            },
            names,
        );
        claim(err, scope, `Host "${name}"`, names);

        super("dropyard:index:Host", name, {}, opts);
        bindHost(this, scope);
        this.attached = false;
        this.hostName = name;
        this.target = targets[0];
        this.dataDir = dataDir;

        let tlsOf: DockerTls | undefined;
        if (local !== undefined) {
            this.localEndpoint = endpoint;
            this.provider = new docker.Provider(`${name}-docker`, { host: endpoint }, { parent: this });
            this.address = pulumi.output("127.0.0.1");
            this.dockerHost = pulumi.output(endpoint);
            this.sshCommand = pulumi.output("(local host: no ssh needed)");
            this.ready = [];
        } else {
            // droplet or server: the same certificates, bootstrap and provider, reached over SSH.
            let ssh: SshTarget;
            if (droplet) {
                const made = createDroplet(name, droplet, this);
                this.droplet = made.droplet;
                if (droplet.ipv6) this.ipv6Address = made.droplet.ipv6Address;
                ssh = dropletSsh(made, this.ipv6Address);
            } else {
                ssh = serverSsh(server!);
            }
            this.remote = remoteOver(ssh);
            const tls = createDockerTls(name, ssh.sans, this);
            tlsOf = tls;
            const bootstrap = this.createBootstrap(name, tls, ssh);
            this.ready = [bootstrap];

            this.address = ssh.host;
            this.dockerHost = pulumi.interpolate`tcp://${ssh.host.apply(bracketIPv6)}:${DOCKER_TLS_PORT}`;
            const identity = droplet ? ` -i ~/.ssh/dropyard-${name}` : "";
            const sshPort = ssh.port === 22 ? "" : ` -p ${ssh.port}`;
            this.sshCommand = pulumi.interpolate`ssh${identity}${sshPort} ${ssh.user}@${ssh.host}`;
            this.sshPrivateKey = ssh.privateKey;
            // A provider that dials before the daemon listens on 2376 fails (pulumi-docker#1293).
            this.provider = new docker.Provider(
                `${name}-docker`,
                {
                    host: this.dockerHost,
                    caMaterial: tls.caCertPem,
                    certMaterial: tls.clientCertPem,
                    keyMaterial: tls.clientKeyPem,
                },
                { parent: this, dependsOn: this.ready },
            );
        }

        // The host's own objects are checked too: another stack's host may have made them on this machine.
        this.watchOwnership(name, scope, [names.edgeNetwork, names.edge.container, names.edge.defaultConfig]);
        this.edgeNetwork = new docker.Network(
            `${name}-edge`,
            {
                name: names.edgeNetwork.name,
                driver: "bridge",
                labels: labels({ host: name }),
            },
            { parent: this, provider: this.provider, dependsOn: this.ready, deleteBeforeReplace: true },
        );

        this.edge = new Edge(`${name}-edge`, { ...args.edge, host: this }, { parent: this });
        const edge = {
            container: this.edge.containerName,
            network: names.edgeNetwork.name,
            httpPort: this.edge.httpPort,
            httpsPort: this.edge.httpsPort,
            bindAddresses: names.edge.ports.map(p => p.ip),
        };
        const common = {
            dropyard: "host" as const,
            version: HOST_EXPORT_VERSION,
            hostName: name,
            target: this.target,
            dataDir,
            edge,
        };
        this.exported =
            this.remote === undefined
                ? pulumi
                      .all([this.address, this.dockerHost])
                      .apply(([address, dockerHost]) => ({ ...common, address, dockerHost }))
                : pulumi.secret(
                      pulumi
                          .all([
                              this.address,
                              this.dockerHost,
                              this.remote.connection,
                              tlsOf!.caCertPem,
                              tlsOf!.clientCertPem,
                              tlsOf!.clientKeyPem,
                          ])
                          .apply(([address, dockerHost, c, caPem, certPem, keyPem]): HostExport => ({
                              ...common,
                              address,
                              dockerHost,
                              docker: { caPem, certPem, keyPem },
                              ssh: {
                                  host: c.host,
                                  user: c.user ?? "root",
                                  port: c.port ?? 22,
                                  privateKey: String(c.privateKey),
                              },
                          })),
                  );

        this.registerOutputs({
            address: this.address,
            dockerHost: this.dockerHost,
            sshCommand: this.sshCommand,
            ipv6Address: this.ipv6Address,
            sshPrivateKey: this.sshPrivateKey,
        });
    }

    /**
     * The bootstrap: the rendered script (it carries the daemon's key, so it is a secret) on the
     * standard input of `bash -s` over SSH, so it never shows in the host's process list either.
     */
    private createBootstrap(name: string, tls: DockerTls, ssh: SshTarget): command.remote.Command {
        const script = pulumi.secret(
            pulumi
                .all([tls.caCertPem, tls.serverCertPem, tls.serverKeyPem, tls.clientCertPem, tls.clientKeyPem])
                .apply(([caCertPem, serverCertPem, serverKeyPem, clientCertPem, clientKeyPem]) =>
                    renderBootstrap({
                        caCertPem,
                        serverCertPem,
                        serverKeyPem,
                        clientCertPem,
                        clientKeyPem,
                        dataDir: this.dataDir,
                    }),
                ),
        );
        return new command.remote.Command(
            `${name}-bootstrap`,
            {
                connection: this.remote!.connection,
                create: this.remote!.sudo ? "sudo -n bash -s" : "bash -s",
                stdin: script,
                triggers: ssh.triggers,
            },
            { parent: this, dependsOn: ssh.waitFor },
        );
    }

    /**
     * The deploy-time ownership check (lib/render/ownership.ts): a host command every resource on the
     * host waits for (it joins `ready`), reading what this stack's components claimed once the program
     * has constructed them (the next turn of the event loop). A component constructed later still gets
     * a check of its own before it changes anything.
     */
    private watchOwnership(name: string, scope: HostScope, own: Name[]): void {
        const after = [...this.ready];
        let count = 0;
        const check = (names: pulumi.Input<Name[]>) =>
            this.hostCommand(
                `${name}-owners${count++ === 0 ? "" : `-${count}`}`,
                {
                    create: pulumi.output(names).apply(ns => renderOwnershipCheck(ownedObjects(scope, ns))),
                },
                { dependsOn: after },
            );
        const all = new Promise<Name[]>(resolve =>
            setImmediate(() => {
                scope.ownership.sealed = true;
                resolve([...own, ...scope.claimed]);
            }),
        );
        scope.ownership.late = names => {
            this.ready.push(check(names));
        };
        this.ready.push(check(all));
    }

    /**
     * Runs scripts on the host with bash: `create` on creation, `update` (or `create`) when inputs
     * change, `delete` on removal. Waits for the host to be ready. On a droplet or server the
     * scripts run over SSH as root (or with `sudo -n`); the environment is sent as `export` lines in
     * front of each script, because sshd usually refuses client-set variables, and the command line
     * is a secret whenever an environment value is.
     */
    command(name: string, args: HostCommandArgs, opts: pulumi.CustomResourceOptions = {}): pulumi.CustomResource {
        const hostErr = configErrors("Host", this.hostName, this);
        checkArgs(
            (field, problem, fix) => hostErr(`command(${JSON.stringify(name)}).${field}`, problem, fix),
            HOST_COMMAND_ARGS,
            name,
            args,
        );
        return this.hostCommand(name, args, { ...opts, dependsOn: [...this.ready, ...dependencies(opts.dependsOn)] });
    }

    /** `command` without waiting for `ready`: the ownership check is part of it. */
    private hostCommand(
        name: string,
        args: HostCommandArgs,
        opts: pulumi.CustomResourceOptions,
    ): pulumi.CustomResource {
        const dependsOn = opts.dependsOn;
        if (this.remote === undefined) {
            // Point the docker CLI in scripts at the engine the provider uses. On a droplet or server
            // scripts run on the machine itself, where the CLI's default socket is that engine.
            const environment = pulumi
                .output(args.environment ?? {})
                .apply(env => ({ DOCKER_HOST: this.localEndpoint!, ...env }));
            return new command.local.Command(
                name,
                {
                    interpreter: ["/bin/bash", "-c"],
                    create: args.create,
                    update: args.update,
                    delete: args.delete,
                    environment,
                    triggers: args.triggers,
                    stdin: args.stdin,
                },
                { parent: this, ...opts, dependsOn },
            );
        }
        const sudo = this.remote.sudo;
        const environment = pulumi.output(args.environment ?? {});
        const wrap = (script: pulumi.Input<string> | undefined) =>
            script === undefined
                ? undefined
                : pulumi.all([environment, script]).apply(([env, s]) => renderRemoteCommand(env, s, sudo));
        return new command.remote.Command(
            name,
            {
                connection: this.remote.connection,
                create: wrap(args.create),
                update: wrap(args.update),
                delete: wrap(args.delete),
                triggers: args.triggers,
                stdin: args.stdin,
            },
            { parent: this, ...opts, dependsOn },
        );
    }
}

/** Everything the bootstrap needs to know about a machine reached over SSH. */
interface SshTarget {
    readonly host: pulumi.Output<string>;
    readonly user: string;
    readonly port: number;
    /** Always a secret. */
    readonly privateKey: pulumi.Output<string>;
    /** Names for the daemon's certificate. */
    readonly sans: DockerTlsNames;
    /** What must exist before the bootstrap may connect. */
    readonly waitFor: pulumi.Resource[];
    /** Values whose change re-runs the bootstrap. */
    readonly triggers: pulumi.Input<any[]>;
}

function dropletSsh(made: CreatedDroplet, ipv6Address: pulumi.Output<string> | undefined): SshTarget {
    const host = made.droplet.ipv4Address;
    return {
        host,
        user: "root",
        port: 22,
        privateKey: pulumi.secret(made.sshKey.privateKeyOpenssh),
        sans: { ipAddresses: ipv6Address ? [host, ipv6Address] : [host], dnsNames: [] },
        // The bootstrap needs port 22 open, and waits for the firewall that opens it.
        waitFor: [made.droplet, made.firewall],
        // A replaced droplet can get the same IP back; its new id still re-runs the bootstrap.
        triggers: [made.droplet.id],
    };
}

function serverSsh(s: Required<ServerTarget>): SshTarget {
    return {
        host: pulumi.output(s.address),
        user: s.user,
        port: s.port,
        privateKey: pulumi.secret(s.privateKey),
        sans: isIP(s.address) ? { ipAddresses: [s.address], dnsNames: [] } : { ipAddresses: [], dnsNames: [s.address] },
        waitFor: [],
        triggers: [],
    };
}

/** Checks a `server` target and fills in its defaults. */
function normalizeServer(err: ErrorFactory, s: ServerTarget): Required<ServerTarget> {
    const address = s.address ?? "";
    if (address.trim() === "") {
        throw err("server.address", "is empty", "give the machine's IP address or DNS name");
    }
    if (isIP(address) === 0 && !isDomain(address)) {
        throw err(
            "server.address",
            `"${address}" is not an IP address or DNS name`,
            "give an address such as 203.0.113.10 or a name such as host.example.com (no user, port or scheme)",
        );
    }
    const user = s.user ?? "root";
    if (!POSIX_USER.test(user)) {
        throw err("server.user", `"${user}" is not a valid user name`, "use a login name such as root or ubuntu");
    }
    const port = s.port ?? 22;
    checkPort(err, "server.port", port);
    checkPrivateKey(err, "server.privateKey", s.privateKey);
    return { address, user, port, privateKey: s.privateKey };
}

/** `tcp://[2001:db8::1]:2376` needs brackets; IPv4 addresses and names do not. */
function bracketIPv6(host: string): string {
    return isIP(host) === 6 ? `[${host}]` : host;
}
