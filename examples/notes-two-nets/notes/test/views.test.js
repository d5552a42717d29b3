"use strict";
const { test } = require("node:test");
const assert = require("node:assert/strict");
const { credentialsPage, html, notesPage } = require("../src/views");

test("html escapes interpolated values but not nested html", () => {
    const evil = `<script>alert("x")</script>&'`;
    assert.equal(html`<p>${evil}</p>`.toString(), "<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;</p>");
    assert.equal(html`<div>${html`<b>${"<i>"}</b>`}</div>`.toString(), "<div><b>&lt;i&gt;</b></div>");
    assert.equal(html`${["<a>", html`<b>`]}${undefined}${null}${false}${0}`.toString(), "&lt;a&gt;<b>0");
});

test("a note's title and text cannot inject markup", () => {
    const page = notesPage({
        user: "alice",
        notes: [{ title: "<img src=x onerror=alert(1)>", body: "</article><script>" }],
    }).toString();
    assert.ok(!page.includes("<img src=x"));
    assert.ok(!page.includes("<script>"));
    assert.ok(page.includes("&lt;img src=x onerror=alert(1)&gt;"));
});

test("the notes page shows the user, a sign-out form and an empty state", () => {
    const page = notesPage({ user: "alice", notes: [] }).toString();
    assert.match(page, /<form method="post" action="\/signout"><span>alice<\/span>/);
    assert.match(page, /No notes yet\./);
});

test("sign-in and sign-up forms post to their own paths and keep the typed user name", () => {
    const signIn = credentialsPage({
        mode: "signin",
        username: `bob"><x`,
        error: "Wrong user name or password.",
    }).toString();
    assert.match(signIn, /action="\/signin"/);
    assert.match(signIn, /value="bob&quot;&gt;&lt;x"/);
    assert.match(signIn, /role="alert">Wrong user name or password\./);
    const signUp = credentialsPage({ mode: "signup" }).toString();
    assert.match(signUp, /action="\/signup"/);
    assert.match(signUp, /autocomplete="new-password"/);
    assert.doesNotMatch(signUp, /role="alert"/);
});
