"use strict";
// The notes table in notes' own MariaDB. Connection settings come from the DB_* variables
// dropyard's MariaDB link sets.
const mysql = require("mysql2/promise");

function connect(env = process.env) {
    return mysql.createPool({
        host: env.DB_HOST,
        port: Number(env.DB_PORT || 3306),
        user: env.DB_USER,
        password: env.DB_PASSWORD,
        database: env.DB_NAME,
        charset: "utf8mb4",
        connectionLimit: 5,
    });
}

/** Waits until the database answers (it may still be starting), then creates the table if missing. */
async function migrate(pool, { attempts = 30, delayMs = 2000 } = {}) {
    for (let attempt = 1; ; attempt++) {
        try {
            await pool.query("SELECT 1");
            break;
        } catch (err) {
            if (attempt >= attempts) throw err;
            console.log(`database not ready (${err.code ?? err.message}); retrying`);
            await new Promise(resolve => setTimeout(resolve, delayMs));
        }
    }
    await pool.query(`
        CREATE TABLE IF NOT EXISTS notes (
            id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
            owner      VARCHAR(32)  NOT NULL,
            title      VARCHAR(200) NOT NULL,
            body       TEXT         NOT NULL,
            created_at TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
            INDEX notes_by_owner (owner, id)
        ) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
}

/** The store the app uses: plain functions, so tests can pass an in-memory one instead. */
function noteStore(pool) {
    return {
        async ping() {
            await pool.query("SELECT 1");
        },
        async list(owner) {
            const [rows] = await pool.execute(
                "SELECT id, title, body, created_at AS createdAt FROM notes WHERE owner = ? ORDER BY id DESC LIMIT 100",
                [owner],
            );
            return rows;
        },
        async create(owner, title, body) {
            await pool.execute("INSERT INTO notes (owner, title, body) VALUES (?, ?, ?)", [owner, title, body]);
        },
    };
}

module.exports = { connect, migrate, noteStore };
