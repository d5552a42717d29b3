"use strict";
// Only notes may call userauth: every request except /healthz carries the shared key in X-Api-Key.
const { createHash, timingSafeEqual } = require("node:crypto");

const digest = value => createHash("sha256").update(String(value)).digest();

/** Constant-time comparison of a presented key with the expected one (hashing evens out the lengths). */
function isValidApiKey(presented, expected) {
    if (typeof presented !== "string" || presented === "" || !expected) return false;
    return timingSafeEqual(digest(presented), digest(expected));
}

module.exports = { isValidApiKey };
