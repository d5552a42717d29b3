"use strict";
// Form posts must come from our own pages. The session cookie is SameSite=Lax, and on top of that a
// POST whose browser says it is cross-site (Sec-Fetch-Site, or an Origin for another host) is refused.

/** Whether a request's headers show it was sent by a page on another site. */
function isCrossSite(headers) {
    const site = headers["sec-fetch-site"];
    if (site && site !== "same-origin" && site !== "none") return true;
    const origin = headers.origin;
    if (!origin || origin === "null") return origin === "null";
    try {
        return new URL(origin).host !== headers.host;
    } catch {
        return true;
    }
}

module.exports = { isCrossSite };
