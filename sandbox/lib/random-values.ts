// Real values for @pulumi/random resources, honouring their inputs the way the provider does.
import { randomBytes, randomInt, randomUUID } from "node:crypto";
import { resourceError } from "./errors";

const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER = "abcdefghijklmnopqrstuvwxyz";
const NUMERIC = "0123456789";
/** The provider's default special characters. */
const SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

type Inputs = Record<string, any>;

/** RandomPassword / RandomString: `min*` characters of each class first, the rest from all classes, shuffled. */
export function randomStringResult(type: string, name: string, i: Inputs): string {
    const length = i.length;
    if (!Number.isInteger(length) || length < 1)
        throw resourceError(type, name, "length", `${length} is not a positive whole number`, "give length >= 1");
    const classes: { on: boolean; chars: string; min: number }[] = [
        { on: i.upper ?? true, chars: UPPER, min: i.minUpper ?? 0 },
        { on: i.lower ?? true, chars: LOWER, min: i.minLower ?? 0 },
        { on: i.numeric ?? i.number ?? true, chars: NUMERIC, min: i.minNumeric ?? 0 },
        { on: i.special ?? true, chars: i.overrideSpecial ?? SPECIAL, min: i.minSpecial ?? 0 },
    ];
    const enabled = classes.filter(c => c.on && c.chars.length > 0);
    const minimum = enabled.reduce((n, c) => n + c.min, 0);
    if (minimum > length)
        throw resourceError(
            type,
            name,
            "length",
            `${length} is less than the sum of the min* fields (${minimum})`,
            "raise length or lower the minimums",
        );
    const all = enabled.map(c => c.chars).join("");
    if (all.length === 0)
        throw resourceError(
            type,
            name,
            "upper/lower/numeric/special",
            "leave no characters to choose from",
            "enable at least one class",
        );
    const out: string[] = [];
    for (const c of enabled) for (let n = 0; n < c.min; n++) out.push(pick(c.chars));
    while (out.length < length) out.push(pick(all));
    for (let k = out.length - 1; k > 0; k--) {
        // Fisher-Yates, so the minimums are not always first
        const j = randomInt(k + 1);
        [out[k], out[j]] = [out[j], out[k]];
    }
    return out.join("");
}

function pick(chars: string): string {
    return chars[randomInt(chars.length)];
}

/** Outputs of every supported random type. */
export function randomOutputs(type: string, name: string, i: Inputs): Record<string, unknown> {
    switch (type) {
        case "random:index/randomPassword:RandomPassword":
        case "random:index/randomString:RandomString":
            return { result: randomStringResult(type, name, i) };
        case "random:index/randomId:RandomId": {
            const bytes = randomBytes(checkCount(type, name, "byteLength", i.byteLength));
            const prefix = i.prefix ?? "";
            return {
                hex: prefix + bytes.toString("hex"),
                b64Url: prefix + bytes.toString("base64url"),
                b64Std: prefix + bytes.toString("base64"),
                dec: prefix + BigInt("0x" + bytes.toString("hex")).toString(10),
            };
        }
        case "random:index/randomBytes:RandomBytes": {
            const bytes = randomBytes(checkCount(type, name, "length", i.length));
            return { hex: bytes.toString("hex"), base64: bytes.toString("base64") };
        }
        case "random:index/randomInteger:RandomInteger": {
            if (!Number.isInteger(i.min) || !Number.isInteger(i.max) || i.max < i.min) {
                throw resourceError(
                    type,
                    name,
                    "min/max",
                    `${i.min}..${i.max} is not a range of whole numbers`,
                    "give min <= max",
                );
            }
            return { result: i.min + randomInt(i.max - i.min + 1) };
        }
        case "random:index/randomUuid:RandomUuid":
            return { result: randomUUID() };
        default:
            return {};
    }
}

function checkCount(type: string, name: string, field: string, n: unknown): number {
    if (!Number.isInteger(n) || (n as number) < 1)
        throw resourceError(type, name, field, `${n} is not a positive whole number`, `give ${field} >= 1`);
    return n as number;
}
