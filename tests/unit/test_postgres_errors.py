"""Which PostgreSQL errors mean "the server is unavailable" (a 503 and a retry) rather than a bad statement."""
import pg8000.native

from order_engine.adapters.postgres.database import _server_unavailable


def error(code: str) -> pg8000.native.DatabaseError:
    return pg8000.native.DatabaseError({"S": "FATAL", "C": code, "M": "..."})


def test_a_server_shutting_down_starting_up_or_full_is_unavailable():
    for code in ("57P01", "57P03", "08006", "53300"):  # admin shutdown, starting up, connection failure, too many
        assert _server_unavailable(error(code)), code


def test_a_statement_the_server_refused_is_not():
    for code in ("23505", "42P01", "P0001"):  # unique violation, no such table, a trigger's refusal
        assert not _server_unavailable(error(code)), code
