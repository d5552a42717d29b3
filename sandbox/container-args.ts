// docker.Container inputs -> a Docker Engine API create body, field by field. Only the fields listed
// in lib/fields.ts reach this file (anything else was already an error). Defaults are the docker
// provider's: ports on 0.0.0.0/tcp, mustRun and start true, wait false with a 60 s timeout,
// anonymous volumes removed with the container, no graceful stop unless destroyGraceSeconds is set.
import { goDurationNs } from "./lib/duration";
import { resourceError } from "./lib/errors";

const TYPE = "docker:index/container:Container";
const MB = 1024 * 1024;

export interface NetworkAttachment {
    network: string;
    aliases: string[];
    ipv4Address?: string;
    ipv6Address?: string;
}

export interface ContainerSpec {
    name: string;
    /** The body of `POST /containers/create`. */
    body: Record<string, any>;
    /** Networks joined after create, before start (the first one is joined at create). */
    connects: NetworkAttachment[];
    start: boolean;
    wait: boolean;
    waitTimeoutSeconds: number;
    mustRun: boolean;
    destroyGraceSeconds: number;
    removeVolumes: boolean;
}

/** Fields the docker provider changes in place (`docker update`) instead of replacing the container. */
export const UPDATABLE_FIELDS = ["restart", "maxRetryCount", "cpuShares", "memory", "cpuSet", "memorySwap"];
/** Fields that only change how the sandbox treats the container, never the container itself. */
export const STATE_ONLY_FIELDS = ["destroyGraceSeconds", "removeVolumes", "mustRun", "wait", "waitTimeout"];

type Inputs = Record<string, any>;

export function containerSpec(resourceName: string, name: string, i: Inputs): ContainerSpec {
    const err = (field: string, problem: string, fix: string) => resourceError(TYPE, resourceName, field, problem, fix);
    if (typeof i.image !== "string" || i.image === "") throw err("image", "is missing", "give an image name or id");

    const config: Inputs = { Image: i.image, Labels: {} as Record<string, string> };
    const host: Inputs = {};
    if (i.command) config.Cmd = i.command;
    if (i.entrypoints) config.Entrypoint = i.entrypoints;
    if (i.envs) config.Env = i.envs;
    for (const l of i.labels ?? []) config.Labels[l.label] = l.value;
    if (i.hostname) config.Hostname = i.hostname;
    if (i.domainname) config.Domainname = i.domainname;
    if (i.user) config.User = i.user;
    if (i.workingDir) config.WorkingDir = i.workingDir;
    if (i.stopSignal) config.StopSignal = i.stopSignal;
    if (i.stopTimeout !== undefined) config.StopTimeout = i.stopTimeout;
    if (i.tty) config.Tty = true;
    if (i.stdinOpen) config.OpenStdin = true;
    if (i.healthcheck) config.Healthcheck = healthcheck(i.healthcheck, err);

    const restart = i.restart ?? "no";
    if (!["no", "on-failure", "always", "unless-stopped"].includes(restart)) {
        throw err("restart", `"${restart}" is not a restart policy`, "use no, on-failure, always or unless-stopped");
    }
    host.RestartPolicy = { Name: restart, MaximumRetryCount: i.maxRetryCount ?? 0 };

    if (i.ports?.length) {
        config.ExposedPorts = {};
        host.PortBindings = {};
        for (const [n, p] of (i.ports as Inputs[]).entries()) {
            if (!Number.isInteger(p.internal))
                throw err(`ports[${n}].internal`, "is missing", "give the container port");
            const key = `${p.internal}/${p.protocol ?? "tcp"}`;
            config.ExposedPorts[key] = {};
            (host.PortBindings[key] ??= []).push({
                HostIp: p.ip ?? "0.0.0.0",
                HostPort: p.external === undefined ? "" : String(p.external),
            });
        }
    }

    host.Mounts = (i.mounts ?? []).map((m: Inputs, n: number) => {
        if (!["volume", "bind", "tmpfs"].includes(m.type))
            throw err(`mounts[${n}].type`, `"${m.type}" is not supported`, "use volume, bind or tmpfs");
        const out: Inputs = { Type: m.type, Target: m.target, ReadOnly: m.readOnly ?? false };
        if (m.source !== undefined) out.Source = m.source;
        if (m.bindOptions?.propagation) out.BindOptions = { Propagation: m.bindOptions.propagation };
        if (m.tmpfsOptions) out.TmpfsOptions = { SizeBytes: m.tmpfsOptions.sizeBytes, Mode: m.tmpfsOptions.mode };
        return out;
    });
    const binds: string[] = [];
    const volumesFrom: string[] = [];
    for (const [n, v] of ((i.volumes ?? []) as Inputs[]).entries()) {
        if (v.fromContainer) {
            volumesFrom.push(v.fromContainer);
            continue;
        }
        if (!v.containerPath)
            throw err(`volumes[${n}].containerPath`, "is missing", "give the path inside the container");
        const source = v.volumeName ?? v.hostPath;
        if (source) binds.push(`${source}:${v.containerPath}${v.readOnly ? ":ro" : ""}`);
        else (config.Volumes ??= {})[v.containerPath] = {};
    }
    if (binds.length) host.Binds = binds;
    if (volumesFrom.length) host.VolumesFrom = volumesFrom;

    if (i.logDriver) host.LogConfig = { Type: i.logDriver, Config: i.logOpts ?? {} };
    else if (i.logOpts) throw err("logOpts", "is given without logDriver", "set logDriver too (e.g. json-file)");
    if (i.shmSize !== undefined) host.ShmSize = i.shmSize * MB;
    if (i.memory !== undefined) host.Memory = i.memory * MB;
    if (i.memorySwap !== undefined) host.MemorySwap = i.memorySwap > 0 ? i.memorySwap * MB : i.memorySwap;
    if (i.cpuShares !== undefined) host.CpuShares = i.cpuShares;
    if (i.cpuSet !== undefined) host.CpusetCpus = i.cpuSet;
    host.Init = i.init ?? false;
    if (i.capabilities) {
        host.CapAdd = i.capabilities.adds ?? [];
        host.CapDrop = i.capabilities.drops ?? [];
    }
    if (i.readOnly) host.ReadonlyRootfs = true;
    if (i.privileged) host.Privileged = true;
    if (i.tmpfs) host.Tmpfs = i.tmpfs;
    if (i.hosts) host.ExtraHosts = (i.hosts as Inputs[]).map(h => `${h.host}:${h.ip}`);
    if (i.dns) host.Dns = i.dns;
    if (i.dnsOpts) host.DnsOptions = i.dnsOpts;
    if (i.dnsSearches) host.DnsSearch = i.dnsSearches;
    if (i.sysctls) host.Sysctls = i.sysctls;
    if (i.ulimits) host.Ulimits = (i.ulimits as Inputs[]).map(u => ({ Name: u.name, Soft: u.soft, Hard: u.hard }));
    if (i.groupAdds) host.GroupAdd = i.groupAdds;

    const networks: NetworkAttachment[] = ((i.networksAdvanced ?? []) as Inputs[]).map((n, k) => {
        if (!n.name) throw err(`networksAdvanced[${k}].name`, "is missing", "give the network's name");
        return { network: n.name, aliases: n.aliases ?? [], ipv4Address: n.ipv4Address, ipv6Address: n.ipv6Address };
    });
    let body: Inputs;
    if (networks.length > 0) {
        // The provider ends with exactly the networksAdvanced: join the first at create, the others before start.
        if (i.networkMode !== undefined)
            throw err("networkMode", "is given together with networksAdvanced", "give one of them");
        host.NetworkMode = networks[0].network;
        body = {
            ...config,
            HostConfig: host,
            NetworkingConfig: { EndpointsConfig: { [networks[0].network]: endpoint(networks[0]) } },
        };
    } else {
        if (i.networkMode !== undefined) host.NetworkMode = i.networkMode;
        body = { ...config, HostConfig: host };
    }

    const waitTimeout = i.waitTimeout ?? 60;
    return {
        name,
        body,
        connects: networks.slice(1),
        start: i.start ?? true,
        wait: i.wait ?? false,
        waitTimeoutSeconds: waitTimeout,
        mustRun: i.mustRun ?? true,
        destroyGraceSeconds: i.destroyGraceSeconds ?? 0,
        removeVolumes: i.removeVolumes ?? true,
    };
}

export function endpoint(n: NetworkAttachment): Inputs {
    const e: Inputs = { Aliases: n.aliases };
    if (n.ipv4Address || n.ipv6Address) e.IPAMConfig = { IPv4Address: n.ipv4Address, IPv6Address: n.ipv6Address };
    return e;
}

function healthcheck(h: Inputs, err: (f: string, p: string, x: string) => Error): Inputs {
    const tests: string[] = h.tests ?? [];
    if (tests.length === 0 || !["CMD", "CMD-SHELL", "NONE"].includes(tests[0])) {
        throw err(
            "healthcheck.tests",
            `${JSON.stringify(tests)} does not start with CMD, CMD-SHELL or NONE`,
            'use e.g. ["CMD-SHELL", "pg_isready"]',
        );
    }
    const out: Inputs = { Test: tests, Retries: h.retries ?? 0 };
    for (const [field, key] of [
        ["interval", "Interval"],
        ["timeout", "Timeout"],
        ["startPeriod", "StartPeriod"],
        ["startInterval", "StartInterval"],
    ] as const) {
        if (h[field] === undefined) continue;
        const ns = goDurationNs(h[field]);
        if (ns === undefined)
            throw err(`healthcheck.${field}`, `"${h[field]}" is not a duration`, 'use e.g. "5s", "1m30s" or "500ms"');
        out[key] = ns;
    }
    return out;
}
