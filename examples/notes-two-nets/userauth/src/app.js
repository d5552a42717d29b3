"use strict";
// userauth's HTTP API. Only notes calls it, over the frontnet network, with the shared API key.
//   POST /users          {username, password} -> 201 {username} | 400 | 409 taken
//   POST /users/verify   {username, password} -> 200 {username} | 401
//   GET  /healthz        -> 200 when the database answers (no key needed)
// Any other request without the right X-Api-Key gets 403.
const express = require("express");
const { isValidApiKey } = require("./api-key");
const { parseCredentials } = require("./credentials");
const { hashForUnknownUser, hashPassword, verifyPassword } = require("./password");

function createApp({ users, apiKey }) {
    const app = express();
    app.disable("x-powered-by");

    app.get("/healthz", async (req, res) => {
        try {
            await users.ping();
            res.json({ status: "ok" });
        } catch {
            res.status(503).json({ status: "database unavailable" });
        }
    });

    app.use((req, res, next) => {
        if (isValidApiKey(req.get("x-api-key"), apiKey)) return next();
        res.status(403).json({ error: "missing or wrong X-Api-Key" });
    });
    app.use(express.json({ limit: "8kb" }));

    app.post("/users", async (req, res) => {
        const { username, password, error } = parseCredentials(req.body);
        if (error) return res.status(400).json({ error });
        const created = await users.create(username, await hashPassword(password));
        if (!created) return res.status(409).json({ error: "username is taken" });
        res.status(201).json({ username });
    });

    app.post("/users/verify", async (req, res) => {
        const { username, password, error } = parseCredentials(req.body);
        const user = error ? undefined : await users.find(username);
        // Hash even when there is no such user, so timing does not reveal which names exist.
        const matches = await verifyPassword(password ?? "", user?.passwordHash ?? (await hashForUnknownUser()));
        if (!user || !matches) return res.status(401).json({ error: "wrong username or password" });
        res.json({ username: user.username });
    });

    app.use((req, res) => res.status(404).json({ error: "not found" }));
    // Express knows an error handler by its four parameters, so `next` stays although unused.
    app.use((err, req, res, next) => {
        if (err.type === "entity.parse.failed") return res.status(400).json({ error: "body is not JSON" });
        console.error(err);
        res.status(500).json({ error: "internal error" });
    });
    return app;
}

module.exports = { createApp };
