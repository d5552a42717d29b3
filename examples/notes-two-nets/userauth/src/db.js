"use strict";
// The users table in userauth's own MariaDB. Connection settings come from the DB_* variables
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
        CREATE TABLE IF NOT EXISTS users (
            username      VARCHAR(32)  NOT NULL PRIMARY KEY,
            password_hash VARCHAR(255) NOT NULL,
            created_at    TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP
        ) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
}

/** The store the app uses: plain functions, so tests can pass an in-memory one instead. */
function userStore(pool) {
    return {
        async ping() {
            await pool.query("SELECT 1");
        },
        async find(username) {
            const [rows] = await pool.execute("SELECT username, password_hash FROM users WHERE username = ?", [
                username,
            ]);
            return rows[0] && { username: rows[0].username, passwordHash: rows[0].password_hash };
        },
        /** false when the user name is taken. */
        async create(username, passwordHash) {
            try {
                await pool.execute("INSERT INTO users (username, password_hash) VALUES (?, ?)", [
                    username,
                    passwordHash,
                ]);
                return true;
            } catch (err) {
                if (err.code === "ER_DUP_ENTRY") return false;
                throw err;
            }
        },
    };
}

module.exports = { connect, migrate, userStore };
