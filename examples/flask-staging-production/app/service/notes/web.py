"""The web process: notes in Postgres, and how many ticks the worker wrote."""
import os

from flask import Flask, jsonify, request

from notes.db import connect

app = Flask(__name__)
app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
ENV = os.environ.get("APP_ENV", "unknown")


@app.get("/health")
def health():
    return "ok"


@app.get("/")
def index():
    with connect() as conn:
        notes = [r[0] for r in conn.execute("SELECT body FROM notes ORDER BY id")]
        ticks = conn.execute("SELECT count(*) FROM ticks").fetchone()[0]
    return jsonify(environment=ENV, notes=notes, ticks=ticks)


@app.post("/notes")
def add_note():
    body = (request.form.get("body") or (request.get_json(silent=True) or {}).get("body") or "").strip()
    if not body:
        return jsonify(error="give a body"), 400
    with connect() as conn:
        conn.execute("INSERT INTO notes (body) VALUES (%s)", (body,))
    return jsonify(environment=ENV, added=body), 201
