"use strict";
const { test } = require("node:test");
const assert = require("node:assert/strict");
const { isCrossSite } = require("../src/same-origin");

const host = "notes.example.com";

test("posts from our own pages pass", () => {
    assert.equal(isCrossSite({ host, origin: "https://notes.example.com", "sec-fetch-site": "same-origin" }), false);
    assert.equal(isCrossSite({ host, origin: "https://notes.example.com" }), false);
    assert.equal(isCrossSite({ host }), false); // old clients and curl send neither header
});

test("posts from other sites are refused", () => {
    assert.equal(isCrossSite({ host, origin: "https://evil.example" }), true);
    assert.equal(isCrossSite({ host, "sec-fetch-site": "cross-site" }), true);
    assert.equal(isCrossSite({ host, "sec-fetch-site": "same-site", origin: "https://other.example.com" }), true);
    assert.equal(isCrossSite({ host, origin: "null" }), true);
    assert.equal(isCrossSite({ host, origin: "not a url" }), true);
});
