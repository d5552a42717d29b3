"use strict";
// Talks to the userauth service over frontnet. notes never sees a password hash or userauth's database.

class UserauthUnavailable extends Error {}

function createUserauthClient({ baseUrl, apiKey, fetch = globalThis.fetch, timeoutMs = 5000 }) {
    async function post(path, body) {
        let res;
        try {
            res = await fetch(new URL(path, baseUrl), {
                method: "POST",
                headers: { "content-type": "application/json", "x-api-key": apiKey },
                body: JSON.stringify(body),
                signal: AbortSignal.timeout(timeoutMs),
            });
        } catch (err) {
            throw new UserauthUnavailable(`userauth did not answer: ${err.message}`);
        }
        if (res.status >= 500) throw new UserauthUnavailable(`userauth answered ${res.status}`);
        const data = await res.json().catch(() => ({}));
        return { status: res.status, data };
    }

    return {
        /** `{ ok: true }` or `{ ok: false, error }` with userauth's reason (name taken, password too short, ...). */
        async createUser(username, password) {
            const { status, data } = await post("/users", { username, password });
            if (status === 201) return { ok: true, username: data.username };
            if (status === 400 || status === 409) return { ok: false, error: data.error };
            throw new UserauthUnavailable(`userauth refused the request (${status})`);
        },
        /** The canonical user name when the password is right, otherwise undefined. */
        async verify(username, password) {
            const { status, data } = await post("/users/verify", { username, password });
            if (status === 200) return data.username;
            if (status === 401) return undefined;
            throw new UserauthUnavailable(`userauth refused the request (${status})`);
        },
    };
}

module.exports = { createUserauthClient, UserauthUnavailable };
