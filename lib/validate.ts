// Checks shared by the components. Each returns nothing and throws a ConfigError through the
// component's own factory, so every message names the component, its name and the field.
import { isIPv4, isIPv6 } from "node:net";
import * as pulumi from "@pulumi/pulumi";
import { ErrorFactory } from "./errors";
import { SHELL_NAME } from "./render/shell";

/** A name Docker accepts for containers, networks and volumes and DNS accepts as a label part. */
const RESOURCE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DOMAIN_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Lower-case letters, digits and inner hyphens, 1–63 characters: valid for Docker and for DNS. */
export function checkResourceName(err: ErrorFactory, field: string, value: string): void {
    if (!RESOURCE_NAME.test(value)) {
        throw err(
            field,
            `"${value}" is not a valid name`,
            "use 1-63 lower-case letters, digits and inner hyphens (Docker and DNS both accept those)",
        );
    }
}

/** An image reference as `docker pull` takes it, e.g. `nginx:1.26` or `registry.example.com/team/app@sha256:...`. */
const IMAGE_REFERENCE = /^[a-z0-9][\w./:@-]*$/i;

/** Throws `<field> "<value>" is not an image reference; use a name such as <example>`. */
export function checkImageReference(err: ErrorFactory, field: string, value: string, example: string): void {
    if (!IMAGE_REFERENCE.test(value))
        throw err(field, `"${value}" is not an image reference`, `use a name such as ${example}`);
}

export function checkPort(err: ErrorFactory, field: string, value: number): void {
    if (!Number.isInteger(value) || value < 1 || value > 65535) {
        throw err(field, `${value} is not a TCP port`, "use a whole number from 1 to 65535");
    }
}

/** A shell variable name: host scripts (the release step) `export` these keys. */
export function checkEnvKey(err: ErrorFactory, field: string, key: string): void {
    if (!SHELL_NAME.test(key)) {
        throw err(
            field,
            `key "${key}" is not a valid environment variable name`,
            "use letters, digits and underscores, not starting with a digit",
        );
    }
}

/** A fully qualified host name such as `app.example.com` (no scheme, port, path or trailing dot). */
export function isDomain(value: string): boolean {
    if (value.length > 253 || !value.includes(".")) return false;
    return value.split(".").every(label => DOMAIN_LABEL.test(label)) && !/^\d+$/.test(value.split(".").pop()!);
}

/** An IPv4 or IPv6 CIDR block such as `203.0.113.0/24` or `::/0`. */
export function isCidr(value: string): boolean {
    const [address, bits, ...rest] = value.split("/");
    if (rest.length > 0 || bits === undefined || !/^\d{1,3}$/.test(bits)) return false;
    const prefix = Number(bits);
    if (isIPv4(address)) return prefix <= 32;
    if (isIPv6(address)) return prefix <= 128;
    return false;
}

/** A Docker endpoint as the docker CLI and provider take it: `unix://`, `tcp://`, `ssh://` or `npipe://`. */
export function checkDockerHost(err: ErrorFactory, field: string, value: string): void {
    const m = /^(unix|tcp|ssh|npipe):\/\/(.+)$/.exec(value);
    if (m === null) {
        throw err(
            field,
            `"${value}" is not a Docker endpoint`,
            "give a URL with its scheme, e.g. unix:///var/run/docker.sock, tcp://127.0.0.1:2375, ssh://user@host or npipe:////./pipe/docker_engine",
        );
    }
    if (m[1] === "unix" && !m[2].startsWith("/")) {
        throw err(
            field,
            `"${value}" does not name a socket by its absolute path`,
            "write unix:// and then the path, e.g. unix:///var/run/docker.sock",
        );
    }
}

/**
 * A private key given as plain text must look like one: a PEM or OpenSSH `-----BEGIN ... PRIVATE KEY-----`
 * block. An Output or a Promise is taken as is (it is known only during deployment).
 */
export function checkPrivateKey(err: ErrorFactory, field: string, value: pulumi.Input<string>): void {
    if (typeof value !== "string") return;
    if (value.trim() === "")
        throw err(field, "is empty", 'give the SSH private key, e.g. config.requireSecret("sshKey")');
    if (!/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]+-----END [A-Z0-9 ]*PRIVATE KEY-----/.test(value)) {
        throw err(
            field,
            "is not a private key (it has no -----BEGIN ... PRIVATE KEY----- block)",
            "give the private key file's whole text (OpenSSH or PEM), not a path, a public key or a fingerprint",
        );
    }
}
