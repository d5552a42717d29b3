"use strict";
const { test } = require("node:test");
const assert = require("node:assert/strict");
const { parseCredentials } = require("../src/credentials");

test("a valid body gives the user name lower-cased and trimmed, the password untouched", () => {
    assert.deepEqual(parseCredentials({ username: "  Alice.B ", password: " pass word " }), {
        username: "alice.b",
        password: " pass word ",
    });
});

test("user names must be 3-32 safe characters", () => {
    for (const username of ["ab", "a".repeat(33), "-alice", "al ice", "alice<script>", "ålice", 42, undefined]) {
        assert.match(
            parseCredentials({ username, password: "long enough" }).error ?? "",
            /^username must be/,
            String(username),
        );
    }
});

test("passwords must be 8-1024 characters", () => {
    for (const password of ["short", "x".repeat(1025), ["an", "array"], undefined]) {
        assert.equal(parseCredentials({ username: "alice", password }).error, "password must be 8-1024 characters");
    }
    assert.equal(parseCredentials({ username: "alice", password: "x".repeat(8) }).error, undefined);
});

test("a missing body is an error, not an exception", () => {
    assert.match(parseCredentials(undefined).error, /^username must be/);
});
