"use strict";
const { test } = require("node:test");
const assert = require("node:assert/strict");
const { UserauthUnavailable, createUserauthClient } = require("../src/userauth-client");

/** A fetch that records requests and answers with the given status and JSON body. */
function fakeFetch(status, body) {
    const calls = [];
    const fetch = async (url, init) => {
        calls.push({ url: String(url), init });
        return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
    };
    return { fetch, calls };
}

const client = fetch => createUserauthClient({ baseUrl: "http://userauth:3000", apiKey: "k3y", fetch });

test("verify posts JSON with the API key and returns the canonical user name", async () => {
    const { fetch, calls } = fakeFetch(200, { username: "alice" });
    assert.equal(await client(fetch).verify("Alice", "pw"), "alice");
    assert.equal(calls[0].url, "http://userauth:3000/users/verify");
    assert.equal(calls[0].init.method, "POST");
    assert.equal(calls[0].init.headers["x-api-key"], "k3y");
    assert.deepEqual(JSON.parse(calls[0].init.body), { username: "Alice", password: "pw" });
});

test("verify returns undefined for a wrong password", async () => {
    assert.equal(
        await client(fakeFetch(401, { error: "wrong username or password" }).fetch).verify("alice", "nope"),
        undefined,
    );
});

test("createUser passes userauth's reason back on 400 and 409", async () => {
    const { fetch, calls } = fakeFetch(409, { error: "username is taken" });
    assert.deepEqual(await client(fetch).createUser("alice", "pw"), { ok: false, error: "username is taken" });
    assert.equal(calls[0].url, "http://userauth:3000/users");
    assert.deepEqual(await client(fakeFetch(201, { username: "alice" }).fetch).createUser("Alice", "pw"), {
        ok: true,
        username: "alice",
    });
});

test("a server error, a refused key or no answer at all is UserauthUnavailable", async () => {
    await assert.rejects(client(fakeFetch(503, {}).fetch).verify("a", "b"), UserauthUnavailable);
    await assert.rejects(
        client(fakeFetch(403, { error: "missing or wrong X-Api-Key" }).fetch).verify("a", "b"),
        UserauthUnavailable,
    );
    const down = async () => {
        throw new TypeError("fetch failed");
    };
    await assert.rejects(client(down).verify("a", "b"), /userauth did not answer: fetch failed/);
});
