"""With nothing answering at DATABASE_URL and REDIS_URL, the stack starts embedded PostgreSQL and Redis from pip
packages under its data directory, and what was written survives a restart of the stack."""
from __future__ import annotations

import socket
import uuid

import pg8000.native
import redis


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_the_stack_runs_on_embedded_servers_whose_data_survives_a_restart(start_stack, fixture_template,
                                                                          free_port, tmp_path):
    pg_port, redis_port = free_port(), free_port()
    env = {
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{pg_port}/order_engine",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "LOCAL_DATA_DIR": str(tmp_path / "data"),
        "LOCAL_PREWARM": "0",
        "MARKER_DIR": str(tmp_path),
    }
    marker = uuid.uuid4().hex

    first = start_stack(env, template=fixture_template)
    conn = pg8000.native.Connection(user="postgres", host="127.0.0.1", port=pg_port, database="order_engine")
    applied = conn.run("SELECT count(*) FROM schema_migrations")[0][0]  # created and migrated at start-up
    conn.run("CREATE TABLE survivor (marker text)")
    conn.run("INSERT INTO survivor VALUES (:m)", m=marker)
    conn.close()
    redis.Redis(port=redis_port).set("survivor", marker)
    assert first.stop() == 0
    assert not answers(pg_port) and not answers(redis_port)  # the stack stopped what it started

    second = start_stack(env, template=fixture_template)
    try:
        conn = pg8000.native.Connection(user="postgres", host="127.0.0.1", port=pg_port, database="order_engine")
        assert conn.run("SELECT marker FROM survivor") == [[marker]]
        conn.close()
        assert redis.Redis(port=redis_port).get("survivor") == marker.encode()
    finally:
        second.stop()
    assert applied >= 1
    assert "embedded" in second.log()
