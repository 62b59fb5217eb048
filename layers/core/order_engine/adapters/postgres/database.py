"""PostgreSQL through pg8000: one lazily opened connection per process (as a Lambda container keeps one),
re-opened after a failure, every outage surfaced as `DependencyUnavailable("postgresql")`."""
from __future__ import annotations

import socket
import threading
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Iterator
from urllib.parse import parse_qs, unquote, urlparse

import pg8000.converters
import pg8000.native

from order_engine.errors import DependencyUnavailable

_MAX_PREPARED = 64
_TIMESTAMPTZ_OID = 1184
_CONNECTION_ERRORS = (pg8000.native.InterfaceError, OSError, socket.timeout, ConnectionError)
# SQLSTATE classes that mean the server, not the statement: 08 connection exception, 57 operator intervention
# (57P01 "terminating connection due to administrator command" at a shutdown, 57P03 "the database system is
# starting up"), 53 insufficient resources (too many connections).
_UNAVAILABLE_CLASSES = ("08", "57", "53")


def _server_unavailable(exc: BaseException) -> bool:
    detail = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    return str(detail.get("C", ""))[:2] in _UNAVAILABLE_CLASSES


def connect_kwargs(database_url: str, schema: str = "public", timeout: float = 5.0,
                   generic_plans: bool = False) -> dict[str, Any]:
    url = urlparse(database_url)
    query = parse_qs(url.query)
    kwargs: dict[str, Any] = {
        "user": unquote(url.username or "postgres"),
        "password": unquote(url.password) if url.password else None,
        "database": unquote(url.path.lstrip("/")) or "postgres",
        "timeout": timeout,
        "application_name": "order-engine",
    }
    host = query.get("host", [url.hostname or "127.0.0.1"])[0]
    if host.startswith("/"):  # a Unix socket directory, as libpq spells it
        kwargs["unix_sock"] = f"{host.rstrip('/')}/.s.PGSQL.{url.port or 5432}"
    else:
        kwargs["host"], kwargs["port"] = host, url.port or 5432
    startup: dict[str, str] = {}
    if schema != "public":
        startup["search_path"] = schema
    if generic_plans:
        startup["plan_cache_mode"] = "force_generic_plan"
    if startup:
        kwargs["startup_params"] = startup
    return kwargs


def _timestamptz(text: str) -> datetime:
    # pg8000 parses every timestamptz with strptime, the largest CPU cost of reading an order and its timeline
    try:
        return datetime.fromisoformat(text)
    except ValueError:  # infinity, BC dates: pg8000's own parser
        return pg8000.converters.timestamptz_in(text)


class Database:
    """A pg8000 connection that is opened on first use and replaced after it breaks.

    `generic_plans`: every prepared statement is planned once per connection. PostgreSQL otherwise keeps
    re-planning a statement whose generic plan it costs higher than its custom ones, as it does for `= ANY(:ids)`
    (10 ids assumed, fewer sent): the planning then costs more than the executor's batch statement itself. Only
    for connections whose statements have one good plan whatever their parameters."""

    def __init__(self, database_url: str, schema: str = "public", timeout: float = 5.0, generic_plans: bool = False):
        self._kwargs = connect_kwargs(database_url, schema, timeout, generic_plans)
        self._conn: pg8000.native.Connection | None = None
        self._prepared: dict[str, pg8000.native.PreparedStatement] = {}
        self._lock = threading.Lock()

    def _connection(self) -> pg8000.native.Connection:
        if self._conn is None:
            try:
                self._conn = pg8000.native.Connection(**self._kwargs)
                self._conn.register_in_adapter(_TIMESTAMPTZ_OID, _timestamptz)
            except _CONNECTION_ERRORS as exc:
                raise DependencyUnavailable("postgresql", exc) from exc
            except pg8000.native.DatabaseError as exc:
                if _server_unavailable(exc):
                    raise DependencyUnavailable("postgresql", exc) from exc
                raise
        return self._conn

    def run(self, sql: str, **params: Any) -> list[list[Any]]:
        """Run one statement (autocommit). Statements are prepared once per connection: pg8000 re-parses the
        SQL text for :named parameters on every plain run."""
        with self._lock:
            try:
                return self._statement(sql).run(**params)
            except _CONNECTION_ERRORS as exc:
                self._discard()
                raise DependencyUnavailable("postgresql", exc) from exc
            except pg8000.native.DatabaseError as exc:
                if not _server_unavailable(exc):
                    raise
                self._discard()
                raise DependencyUnavailable("postgresql", exc) from exc

    def _statement(self, sql: str) -> pg8000.native.PreparedStatement:
        statement = self._prepared.get(sql)
        if statement is None:
            if len(self._prepared) >= _MAX_PREPARED:
                self._prepared.pop(next(iter(self._prepared))).close()
            statement = self._prepared[sql] = self._connection().prepare(sql)
        return statement

    @contextmanager
    def transaction(self) -> Iterator[pg8000.native.Connection]:
        """BEGIN ... COMMIT on the shared connection; ROLLBACK on any error, so nothing is half-written."""
        with self._lock:
            conn = self._connection()
            try:
                conn.run("BEGIN")
                yield conn
                conn.run("COMMIT")
            except _CONNECTION_ERRORS as exc:
                self._discard()
                raise DependencyUnavailable("postgresql", exc) from exc
            except pg8000.native.DatabaseError as exc:
                if not _server_unavailable(exc):
                    self._rollback(conn)
                    raise
                self._discard()
                raise DependencyUnavailable("postgresql", exc) from exc
            except BaseException:
                self._rollback(conn)
                raise

    def _rollback(self, conn: pg8000.native.Connection) -> None:
        try:
            conn.run("ROLLBACK")
        except _CONNECTION_ERRORS:
            self._discard()

    def ping(self) -> None:
        self.run("SELECT 1")

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        self._prepared.clear()
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - the connection is already broken; closing is best effort
                pass

    def close(self) -> None:
        with self._lock:
            self._discard()
