// Secrets never leave the sandbox in clear text: every value the program marked secret (and every
// value that is secret by nature: generated passwords, private keys) is collected, and all text the
// sandbox prints (summary, progress, errors, script and container output) passes through `scrub`.
import { isSecretValue } from "../harness";

export const MASK = "[secret]";
/** Shorter values are not scrubbed: replacing every "a" or "on" would destroy the text around them. */
const MIN_LENGTH = 4;
/** Environment variable names whose values are credentials. */
const CREDENTIAL_NAME = /PASS|SECRET|TOKEN|KEY|PRIVATE|CREDENTIAL|AUTH|SALT|CERT|DSN|_URL$|^URL$/i;

/** Every string leaf under a value. */
export function stringLeaves(v: unknown, out: string[] = []): string[] {
    if (typeof v === "string") out.push(v);
    else if (isSecretValue(v)) stringLeaves(v.value, out);
    else if (Array.isArray(v)) v.forEach(x => stringLeaves(x, out));
    else if (v && typeof v === "object") Object.values(v).forEach(x => stringLeaves(x, out));
    return out;
}

function looksLikeCredential(name: string, value: string): boolean {
    return (
        CREDENTIAL_NAME.test(name) ||
        /^[a-z][a-z0-9+.-]*:\/\/[^/\s]*@/i.test(value) ||
        value.includes("-----BEGIN") ||
        (value.length >= 12 && /[A-Za-z]/.test(value) && /\d/.test(value) && !/[\s/.]/.test(value))
    );
}

export class Scrubber {
    private readonly values = new Set<string>();
    private sorted: string[] | undefined;

    /** Registers secret values (every string leaf); multi-line ones (PEM) also register their long lines. */
    add(...values: unknown[]): this {
        for (const v of values.flatMap(x => stringLeaves(x))) {
            this.addOne(v);
            if (!v.includes("\n")) continue;
            for (const line of v.split("\n")) if (line.trim().length >= 16) this.addOne(line.trim());
        }
        return this;
    }

    /**
     * Registers the secret parts of raw inputs. Pulumi marks a whole env list or map secret when one
     * entry is, so inside one a value is registered alone only when it looks like a credential: by its
     * name (`DB_PASSWORD=…`, `{ apiToken: … }`), a URL with a user in it, a PEM block, or random-looking
     * text; other `K=V` entries are registered whole. Generated passwords and keys are registered by
     * value elsewhere, so they are masked inside any entry.
     */
    addSecretInputs(raw: unknown): this {
        const visit = (v: unknown, secret: boolean, key: string | undefined) => {
            if (isSecretValue(v)) return visit(v.value, true, key);
            if (Array.isArray(v)) return v.forEach(x => visit(x, secret, undefined));
            if (v && typeof v === "object") return Object.entries(v).forEach(([k, x]) => visit(x, secret, k));
            if (!secret || typeof v !== "string") return;
            const entry = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(v);
            if (entry) {
                this.addOne(v);
                if (looksLikeCredential(entry[1], entry[2])) this.add(entry[2]);
            } else if (key === undefined || looksLikeCredential(key, v)) {
                this.add(v);
            }
        };
        visit(raw, false, undefined);
        return this;
    }

    private addOne(v: string): void {
        if (v.length >= MIN_LENGTH && !this.values.has(v)) {
            this.values.add(v);
            this.sorted = undefined;
        }
    }

    scrub(text: string): string {
        this.sorted ??= [...this.values].sort((a, b) => b.length - a.length);
        let out = text;
        for (const v of this.sorted) if (out.includes(v)) out = out.split(v).join(MASK);
        return out;
    }

    /** A copy of a JSON-like value with every string scrubbed. */
    scrubDeep<T>(v: T): T {
        if (typeof v === "string") return this.scrub(v) as T;
        if (Array.isArray(v)) return v.map(x => this.scrubDeep(x)) as T;
        if (v && typeof v === "object") {
            return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.scrubDeep(x)])) as T;
        }
        return v;
    }
}
