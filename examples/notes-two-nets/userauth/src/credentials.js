"use strict";
// Checks a request body's user name and password before anything touches the database.

const USERNAME = /^[a-z0-9][a-z0-9._-]{2,31}$/;
const MIN_PASSWORD = 8;
const MAX_PASSWORD = 1024; // scrypt reads all of it: no point accepting megabytes

/** `{ username, password }` (user name lower-cased) or `{ error }` saying what is wrong. */
function parseCredentials(body) {
    const username = typeof body?.username === "string" ? body.username.trim().toLowerCase() : "";
    const password = typeof body?.password === "string" ? body.password : "";
    if (!USERNAME.test(username)) {
        return {
            error: "username must be 3-32 letters, digits, dots, hyphens or underscores, starting with a letter or digit",
        };
    }
    if (password.length < MIN_PASSWORD || password.length > MAX_PASSWORD) {
        return { error: `password must be ${MIN_PASSWORD}-${MAX_PASSWORD} characters` };
    }
    return { username, password };
}

module.exports = { parseCredentials };
