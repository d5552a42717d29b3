"use strict";
// The notes web UI: sign up, sign in and out, list and add notes. Users and passwords belong to
// userauth; notes keeps only the notes, keyed by user name.
const express = require("express");
const { isCrossSite } = require("./same-origin");
const { COOKIE, MAX_AGE_SECONDS, getCookie, readSession, signSession } = require("./session");
const { UserauthUnavailable } = require("./userauth-client");
const { credentialsPage, errorPage, notesPage } = require("./views");

function createApp({ notes, userauth, sessionSecret }) {
    const app = express();
    app.disable("x-powered-by");
    // Requests arrive through the host's nginx on a private Docker network; believe its
    // X-Forwarded-Proto so req.secure is true behind TLS.
    app.set("trust proxy", "loopback, uniquelocal");

    app.get("/healthz", async (req, res) => {
        try {
            await notes.ping();
            res.type("text").send("ok\n");
        } catch {
            res.status(503).type("text").send("database unavailable\n");
        }
    });

    app.use(express.urlencoded({ extended: false, limit: "64kb" }));
    app.use((req, res, next) => {
        if (req.method === "POST" && isCrossSite(req.headers)) {
            return res.status(403).send(errorPage(403, "This form was sent from another site.").toString());
        }
        req.user = readSession(getCookie(req.headers.cookie, COOKIE), sessionSecret);
        next();
    });

    const page = (res, view, status = 200) => res.status(status).type("html").send(view.toString());
    const startSession = (req, res, username) =>
        res.cookie(COOKIE, signSession(username, sessionSecret), {
            httpOnly: true,
            sameSite: "lax",
            secure: req.secure,
            path: "/",
            maxAge: MAX_AGE_SECONDS * 1000,
        });
    const requireUser = (req, res, next) => (req.user ? next() : res.redirect(303, "/signin"));

    app.get("/", requireUser, async (req, res) => {
        page(res, notesPage({ user: req.user, notes: await notes.list(req.user) }));
    });

    app.post("/notes", requireUser, async (req, res) => {
        const title = String(req.body.title ?? "").trim();
        const body = String(req.body.body ?? "");
        if (!title || title.length > 200 || body.length > 10000) {
            const error = "A note needs a title (at most 200 characters) and at most 10000 characters of text.";
            return page(res, notesPage({ user: req.user, notes: await notes.list(req.user), error }), 400);
        }
        await notes.create(req.user, title, body);
        res.redirect(303, "/");
    });

    app.get("/signin", (req, res) => page(res, credentialsPage({ mode: "signin" })));
    app.get("/signup", (req, res) => page(res, credentialsPage({ mode: "signup" })));

    app.post("/signin", async (req, res) => {
        const { username = "", password = "" } = req.body;
        const user = await userauth.verify(String(username), String(password));
        if (!user)
            return page(res, credentialsPage({ mode: "signin", username, error: "Wrong user name or password." }), 401);
        startSession(req, res, user);
        res.redirect(303, "/");
    });

    app.post("/signup", async (req, res) => {
        const { username = "", password = "" } = req.body;
        const result = await userauth.createUser(String(username), String(password));
        if (!result.ok) return page(res, credentialsPage({ mode: "signup", username, error: result.error }), 400);
        startSession(req, res, result.username);
        res.redirect(303, "/");
    });

    app.post("/signout", (req, res) => {
        res.clearCookie(COOKIE, { path: "/" });
        res.redirect(303, "/signin");
    });

    app.use((req, res) => page(res, errorPage(404, "No such page."), 404));
    // Express knows an error handler by its four parameters, so `next` stays although unused.
    app.use((err, req, res, next) => {
        if (err instanceof UserauthUnavailable) {
            console.error(err.message);
            return page(res, errorPage(503, "Signing in is unavailable right now; try again in a minute."), 503);
        }
        console.error(err);
        page(res, errorPage(500, "Something went wrong."), 500);
    });
    return app;
}

module.exports = { createApp };
