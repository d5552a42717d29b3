"use strict";
const { createApp } = require("./app");
const { connect, migrate, noteStore } = require("./db");
const { createUserauthClient } = require("./userauth-client");

function required(name) {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set`);
    return value;
}

async function main() {
    const userauth = createUserauthClient({ baseUrl: required("USERAUTH_URL"), apiKey: required("USERAUTH_API_KEY") });
    const sessionSecret = required("SESSION_SECRET");
    const pool = connect();
    await migrate(pool);
    const port = Number(process.env.PORT || 3000);
    const server = createApp({ notes: noteStore(pool), userauth, sessionSecret }).listen(port, () => {
        console.log(`notes listening on port ${port}`);
    });
    // Docker stops containers with SIGTERM: finish in-flight requests, then close the pool.
    process.on("SIGTERM", () => {
        server.close(() => pool.end().finally(() => process.exit(0)));
        server.closeIdleConnections();
    });
}

main().catch(err => {
    console.error(err);
    process.exit(1);
});
