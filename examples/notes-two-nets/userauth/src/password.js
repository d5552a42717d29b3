"use strict";
// Password hashing with scrypt from node:crypto: memory-hard, salted per user, compared in constant
// time. A stored hash reads "scrypt$N$r$p$salt$hash" (salt and hash in base64), so the cost can be
// raised later and old hashes still verify.
const { randomBytes, scrypt, timingSafeEqual } = require("node:crypto");
const { promisify } = require("node:util");

const scryptAsync = promisify(scrypt);

const COST = { N: 16384, r: 8, p: 1 }; // 16 MiB of memory per hash
const SALT_BYTES = 16;
const KEY_BYTES = 64;

async function hashPassword(password) {
    const salt = randomBytes(SALT_BYTES);
    const key = await scryptAsync(password, salt, KEY_BYTES, COST);
    return ["scrypt", COST.N, COST.r, COST.p, salt.toString("base64"), key.toString("base64")].join("$");
}

/** Whether `password` matches `stored` (a hashPassword result). A malformed hash never matches. */
async function verifyPassword(password, stored) {
    const parts = String(stored).split("$");
    if (parts.length !== 6 || parts[0] !== "scrypt") return false;
    const [N, r, p] = parts.slice(1, 4).map(Number);
    const salt = Buffer.from(parts[4], "base64");
    const expected = Buffer.from(parts[5], "base64");
    if (![N, r, p].every(Number.isInteger) || salt.length === 0 || expected.length === 0) return false;
    const actual = await scryptAsync(password, salt, expected.length, { N, r, p, maxmem: 256 * N * r });
    return timingSafeEqual(actual, expected);
}

let dummyHash;
/**
 * A hash of nothing in particular: verifying against it for an unknown user takes as long as for a
 * real one, so response times do not tell which user names exist.
 */
function hashForUnknownUser() {
    dummyHash ??= hashPassword(randomBytes(16).toString("hex"));
    return dummyHash;
}

module.exports = { hashPassword, verifyPassword, hashForUnknownUser };
