"use strict";
const { test } = require("node:test");
const assert = require("node:assert/strict");
const { MAX_AGE_SECONDS, getCookie, readSession, signSession } = require("../src/session");

const SECRET = "test-secret";
const NOW = 1_700_000_000_000;

test("a signed session reads back as its user", () => {
    assert.equal(readSession(signSession("alice", SECRET, NOW), SECRET, NOW + 1000), "alice");
});

test("a session signed with another secret is refused", () => {
    assert.equal(readSession(signSession("alice", "other-secret", NOW), SECRET, NOW), undefined);
});

test("a session whose payload was changed is refused", () => {
    const [, signature] = signSession("alice", SECRET, NOW).split(".");
    const forged = Buffer.from(JSON.stringify({ u: "admin", exp: NOW + 1e9 })).toString("base64url");
    assert.equal(readSession(`${forged}.${signature}`, SECRET, NOW), undefined);
});

test("a session expires after MAX_AGE_SECONDS", () => {
    const token = signSession("alice", SECRET, NOW);
    assert.equal(readSession(token, SECRET, NOW + MAX_AGE_SECONDS * 1000 - 1), "alice");
    assert.equal(readSession(token, SECRET, NOW + MAX_AGE_SECONDS * 1000), undefined);
});

test("garbage is no session", () => {
    for (const token of [
        undefined,
        "",
        "abc",
        "a.b",
        "a.b.c",
        ".",
        `${Buffer.from("not json").toString("base64url")}.x`,
    ]) {
        assert.equal(readSession(token, SECRET, NOW), undefined, String(token));
    }
});

test("getCookie finds one cookie among several", () => {
    assert.equal(getCookie("a=1; notes_session=abc.def; b=2", "notes_session"), "abc.def");
    assert.equal(getCookie("xnotes_session=1", "notes_session"), undefined);
    assert.equal(getCookie(undefined, "notes_session"), undefined);
});
