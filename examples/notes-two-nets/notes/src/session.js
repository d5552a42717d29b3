"use strict";
// A stateless session: the cookie holds the user name and an expiry, signed with HMAC-SHA256 under
// SESSION_SECRET. Nobody can forge or extend one without the secret; signing out deletes the cookie.
const { createHmac, timingSafeEqual } = require("node:crypto");

const COOKIE = "notes_session";
const MAX_AGE_SECONDS = 7 * 24 * 3600;

const mac = (payload, secret) => createHmac("sha256", secret).update(payload).digest("base64url");

function signSession(username, secret, now = Date.now()) {
    const payload = Buffer.from(JSON.stringify({ u: username, exp: now + MAX_AGE_SECONDS * 1000 })).toString(
        "base64url",
    );
    return `${payload}.${mac(payload, secret)}`;
}

/** The user name in a valid, unexpired token; otherwise undefined. */
function readSession(token, secret, now = Date.now()) {
    if (typeof token !== "string") return undefined;
    const [payload, signature, ...rest] = token.split(".");
    if (!payload || !signature || rest.length > 0) return undefined;
    const expected = Buffer.from(mac(payload, secret));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
        const { u, exp } = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
        return typeof u === "string" && typeof exp === "number" && exp > now ? u : undefined;
    } catch {
        return undefined;
    }
}

/** One cookie's value from a Cookie header. */
function getCookie(header, name) {
    for (const part of String(header ?? "").split(";")) {
        const eq = part.indexOf("=");
        if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
    }
    return undefined;
}

module.exports = { COOKIE, MAX_AGE_SECONDS, signSession, readSession, getCookie };
