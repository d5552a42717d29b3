"use strict";
const { test } = require("node:test");
const assert = require("node:assert/strict");
const { hashPassword, verifyPassword, hashForUnknownUser } = require("../src/password");

test("a hash verifies its own password and no other", async () => {
    const stored = await hashPassword("correct horse battery staple");
    assert.equal(await verifyPassword("correct horse battery staple", stored), true);
    assert.equal(await verifyPassword("correct horse battery stapl", stored), false);
    assert.equal(await verifyPassword("", stored), false);
});

test("the stored form names scrypt and its cost and carries a 16-byte salt and a 64-byte key", async () => {
    const parts = (await hashPassword("pw-12345678")).split("$");
    assert.deepEqual(parts.slice(0, 4), ["scrypt", "16384", "8", "1"]);
    assert.equal(Buffer.from(parts[4], "base64").length, 16);
    assert.equal(Buffer.from(parts[5], "base64").length, 64);
});

test("each hash gets its own salt, so equal passwords do not give equal hashes", async () => {
    const [a, b] = await Promise.all([hashPassword("same password"), hashPassword("same password")]);
    assert.notEqual(a, b);
    assert.equal(await verifyPassword("same password", a), true);
    assert.equal(await verifyPassword("same password", b), true);
});

test("a hash made with another cost still verifies", async () => {
    const { scryptSync, randomBytes } = require("node:crypto");
    const salt = randomBytes(16);
    const key = scryptSync("old password", salt, 32, { N: 1024, r: 8, p: 1 });
    const stored = ["scrypt", 1024, 8, 1, salt.toString("base64"), key.toString("base64")].join("$");
    assert.equal(await verifyPassword("old password", stored), true);
    assert.equal(await verifyPassword("new password", stored), false);
});

test("malformed stored hashes never match", async () => {
    for (const stored of ["", "plaintext", "bcrypt$1$2$3$aaaa$bbbb", "scrypt$x$8$1$aaaa$bbbb", "scrypt$1024$8$1$$"]) {
        assert.equal(await verifyPassword("anything", stored), false, stored);
    }
});

test("the stand-in hash for unknown users is a real scrypt hash that matches nothing guessable", async () => {
    const stored = await hashForUnknownUser();
    assert.match(stored, /^scrypt\$16384\$8\$1\$/);
    assert.equal(await verifyPassword("", stored), false);
    assert.equal(await hashForUnknownUser(), stored);
});
