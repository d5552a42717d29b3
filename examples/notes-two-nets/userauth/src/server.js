"use strict";
const { createApp } = require("./app");
const { connect, migrate, userStore } = require("./db");

async function main() {
    const apiKey = process.env.USERAUTH_API_KEY;
    if (!apiKey) throw new Error("USERAUTH_API_KEY is not set");
    const pool = connect();
    await migrate(pool);
    const port = Number(process.env.PORT || 3000);
    const server = createApp({ users: userStore(pool), apiKey }).listen(port, () => {
        console.log(`userauth listening on port ${port}`);
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
