"use strict";
const { test } = require("node:test");
const assert = require("node:assert/strict");
const { isValidApiKey } = require("../src/api-key");

test("only the exact key is accepted", () => {
    assert.equal(isValidApiKey("s3cret-key", "s3cret-key"), true);
    assert.equal(isValidApiKey("s3cret-kez", "s3cret-key"), false);
    assert.equal(isValidApiKey("s3cret-key-and-more", "s3cret-key"), false);
    assert.equal(isValidApiKey("s3cret", "s3cret-key"), false);
});

test("a missing key, or no key configured, is refused", () => {
    assert.equal(isValidApiKey(undefined, "s3cret-key"), false);
    assert.equal(isValidApiKey("", "s3cret-key"), false);
    assert.equal(isValidApiKey("", ""), false);
    assert.equal(isValidApiKey("anything", undefined), false);
});
