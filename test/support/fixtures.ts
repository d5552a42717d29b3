// What the unit and render tests build on: temporary directories removed when the test file ends, an app's
// build directory, and the host most tests put their components on.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { BackupBucket, Host, HostArgs } from "../../lib";

const made: string[] = [];
// On exit rather than node:test's `after`, which called inside a test would bind to that test, not the file.
process.on("exit", () => made.forEach(dir => fs.rmSync(dir, { recursive: true, force: true })));

/** A new empty directory under the system's temporary directory, removed when the test file's process exits. */
export function tempDir(prefix = "dropyard-test-"): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    made.push(dir);
    return dir;
}

/** A Procfile with web, worker and release processes: what most app tests deploy. */
export const PROCFILE =
    "web: gunicorn app:app --bind 0.0.0.0:$PORT\nworker: python worker.py\nrelease: python manage.py migrate\n";

/**
 * A real build directory: a Dockerfile plus the given files (a Procfile by default). The Dockerfile is never
 * built under the mocks; it only has to exist, as App checks at construction.
 */
export function appDir(files: Record<string, string> = { Procfile: PROCFILE }): string {
    const dir = tempDir("dropyard-app-");
    fs.writeFileSync(path.join(dir, "Dockerfile"), "FROM python:3.13-slim\nCOPY . /app\n");
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    return dir;
}

/** A host on the local engine, as most tests use; `args` adds to `{ local: true }`. Call it inside `evaluate`. */
export function localHost(name = "box", args: Omit<Partial<HostArgs>, "local" | "server" | "droplet"> = {}): Host {
    return new Host(name, { local: true, ...args });
}

/** A private key's shape, for components that only pass it on (never a usable key). */
export const FAKE_SSH_KEY =
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";

/** A DigitalOcean Spaces bucket for `backup.bucket`, its keys as secrets (never contacted by unit tests). */
export function spacesBucket(): BackupBucket {
    return {
        endpoint: "https://fra1.digitaloceanspaces.com",
        region: "fra1",
        bucket: "acme-backups",
        accessKeyId: pulumi.secret("DO00KEY"),
        secretAccessKey: pulumi.secret("s3cr3t"),
    };
}
