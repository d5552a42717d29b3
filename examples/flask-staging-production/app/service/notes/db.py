"""The database, from DATABASE_URL alone (configuration only from the environment)."""
import os

import psycopg


def connect() -> psycopg.Connection:
    return psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
