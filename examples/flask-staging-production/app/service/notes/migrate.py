"""The release step: creates the tables before new web and worker processes start."""
from notes.db import connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text NOT NULL, created timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS ticks (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now());
"""

if __name__ == "__main__":
    with connect() as conn:
        conn.execute(SCHEMA)
    print("schema ready")
