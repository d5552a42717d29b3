"use strict";
// HTML pages as template literals. `html` escapes every interpolated value unless it is itself
// the result of `html`, so user input can never become markup.

class SafeHtml {
    constructor(text) {
        this.text = text;
    }
    toString() {
        return this.text;
    }
}

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escape = value => String(value).replace(/[&<>"']/g, c => ESCAPES[c]);
const render = value => {
    if (value instanceof SafeHtml) return value.text;
    if (Array.isArray(value)) return value.map(render).join("");
    return value === undefined || value === null || value === false ? "" : escape(value);
};

function html(strings, ...values) {
    return new SafeHtml(strings.reduce((out, s, i) => out + render(values[i - 1]) + s));
}

function layout(title, user, body) {
    return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Notes</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
  header { display: flex; justify-content: space-between; align-items: center; }
  form.stack { display: grid; gap: 0.5rem; }
  input, textarea, button { font: inherit; padding: 0.4rem; }
  article { border-top: 1px solid #ddd; padding: 0.5rem 0; white-space: pre-wrap; }
  .error { color: #b00020; }
</style>
</head>
<body>
<header>
  <h1>Notes</h1>
  ${user ? html`<form method="post" action="/signout"><span>${user}</span> <button>Sign out</button></form>` : ""}
</header>
${body}
</body>
</html>
`;
}

function credentialsPage({ mode, error, username }) {
    const signUp = mode === "signup";
    const title = signUp ? "Sign up" : "Sign in";
    return layout(
        title,
        undefined,
        html`
<h2>${title}</h2>
${error ? html`<p class="error" role="alert">${error}</p>` : ""}
<form class="stack" method="post" action="${signUp ? "/signup" : "/signin"}">
  <label>User name <input name="username" value="${username ?? ""}" autocomplete="username" required></label>
  <label>Password <input name="password" type="password" autocomplete="${signUp ? "new-password" : "current-password"}" required></label>
  <button>${title}</button>
</form>
<p>${signUp ? html`Have an account? <a href="/signin">Sign in</a>` : html`New here? <a href="/signup">Sign up</a>`}</p>
`,
    );
}

function notesPage({ user, notes, error }) {
    return layout(
        "Your notes",
        user,
        html`
<form class="stack" method="post" action="/notes">
  <input name="title" placeholder="Title" maxlength="200" required>
  <textarea name="body" rows="4" placeholder="Write something" maxlength="10000"></textarea>
  <button>Add note</button>
</form>
${error ? html`<p class="error" role="alert">${error}</p>` : ""}
${
    notes.length === 0
        ? html`<p>No notes yet.</p>`
        : notes.map(
              n => html`
<article><h3>${n.title}</h3>${n.body}</article>`,
          )
}
`,
    );
}

function errorPage(status, message) {
    return layout(`Error ${status}`, undefined, html`<p class="error">${message}</p><p><a href="/">Back</a></p>`);
}

module.exports = { html, credentialsPage, notesPage, errorPage };
