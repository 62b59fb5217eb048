"""Applies the versioned SQL files under infra/migrations once each, in order, under an advisory lock,
then writes the lifecycle's allowed transitions and initial statuses (from the domain, their one source) into the
database, where the transition trigger reads them."""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import pg8000.native

from order_engine.config import Settings
from order_engine.domain.lifecycle import INITIAL, database_transitions
from order_engine.adapters.postgres.database import connect_kwargs

MIGRATION_TIMEOUT_S = 120.0
DEFAULT_DIR = Path(__file__).resolve().parents[5] / "infra" / "migrations"
_LOCK_KEY = 0x0E_0E_0E
_DUPLICATE_DATABASE, _UNIQUE_VIOLATION = "42P04", "23505"
_VERSION = re.compile(r"^(\d+)_[\w-]+\.sql$")


def migration_files(directory: Path = DEFAULT_DIR) -> list[Path]:
    files = [p for p in directory.iterdir() if _VERSION.match(p.name)]
    return sorted(files, key=lambda p: int(_VERSION.match(p.name).group(1)))


def ensure_database(database_url: str) -> None:
    """Create the database named in the URL if it does not exist (local start-up, tests)."""
    kwargs = connect_kwargs(database_url)
    name = kwargs["database"]
    conn = pg8000.native.Connection(**{**kwargs, "database": "postgres"})
    try:
        if not conn.run("SELECT 1 FROM pg_database WHERE datname = :n", n=name):
            try:
                conn.run(f"CREATE DATABASE {pg8000.native.identifier(name)}")
            except pg8000.native.DatabaseError as exc:
                # another process created it between our look and our CREATE: what we wanted
                if exc.args[0].get("C") not in (_DUPLICATE_DATABASE, _UNIQUE_VIOLATION):
                    raise
    finally:
        conn.close()


def migrate(database_url: str, schema: str = "public", directory: Path = DEFAULT_DIR) -> list[str]:
    """Apply what is missing; returns the names applied. Safe to run concurrently and repeatedly."""
    # DDL may wait on the advisory lock (another migration) and on busy tables: not the 5 s of a request's query
    conn = pg8000.native.Connection(**connect_kwargs(database_url, schema, timeout=MIGRATION_TIMEOUT_S))
    applied: list[str] = []
    try:
        conn.run("SELECT pg_advisory_lock(:k)", k=_LOCK_KEY)
        if schema != "public":
            conn.run(f"CREATE SCHEMA IF NOT EXISTS {pg8000.native.identifier(schema)}")
        conn.run("CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
        done = {row[0] for row in conn.run("SELECT version FROM schema_migrations")}
        for path in migration_files(directory):
            if path.name in done:
                continue
            conn.run("BEGIN")
            try:
                conn.execute_simple(path.read_text())
                conn.run("INSERT INTO schema_migrations (version) VALUES (:v)", v=path.name)
                conn.run("COMMIT")
            except Exception:
                conn.run("ROLLBACK")
                raise
            applied.append(path.name)
        _sync_transitions(conn)
    finally:
        try:
            conn.run("SELECT pg_advisory_unlock(:k)", k=_LOCK_KEY)
        finally:
            conn.close()
    return applied


def _sync_transitions(conn: pg8000.native.Connection) -> None:
    pairs = sorted((str(a), str(b)) for a, b in database_transitions())
    conn.run("BEGIN")
    conn.run("DELETE FROM order_transitions")
    for a, b in pairs:
        conn.run("INSERT INTO order_transitions (from_status, to_status) VALUES (:a, :b)", a=a, b=b)
    conn.run("DELETE FROM order_initial_statuses")
    for status in sorted(INITIAL):
        conn.run("INSERT INTO order_initial_statuses (status) VALUES (:s)", s=str(status))
    conn.run("COMMIT")


def main() -> None:
    parser = argparse.ArgumentParser(description="Create the database if missing and apply pending migrations.")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args()
    s = Settings.from_env()
    ensure_database(s.database_url)
    for name in migrate(s.database_url, s.database_schema, args.dir):
        print(f"applied {name}")
    print("database is up to date")


if __name__ == "__main__":
    main()
