"""The executor Lambda handler: it drains the queue within the time its context gives it."""
from __future__ import annotations

from tests.support.lambdas import load_function
from tests.support.factories import submit_orders
from tests.support.reads import statuses
from order_engine import config


class Context:
    aws_request_id = "test-request"
    function_name = "order-engine-executor"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:order-engine-executor"
    memory_limit_in_mb = 1024

    def __init__(self, remaining_ms: int):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_a_scheduled_invocation_executes_the_queued_orders_and_exits_when_idle(configured, settings, db, monkeypatch):
    for name, value in {"DEX_LATENCY_SCALE": "0", "IDLE_EXIT_MS": "500", "EXECUTOR_POLL_MS": "100"}.items():
        monkeypatch.setenv(name, value)
    config.settings.cache_clear()
    submit_orders(settings, db, 5)
    executor = load_function("executor")

    result = executor.handler({"source": "aws.events", "detail-type": "Scheduled Event"}, Context(60_000))

    assert result["stopped_because"] == "idle" and result["outcomes"] == {"confirmed": 5}
    assert statuses(db) == {"confirmed": 5}


def test_an_invocation_near_its_timeout_claims_nothing(configured, settings, db):
    config.settings.cache_clear()
    submit_orders(settings, db, 2)
    executor = load_function("executor")

    result = executor.handler({"source": "order-engine.submit"}, Context(5_000))  # under the 10 s stop margin

    assert result["stopped_because"] == "deadline" and result["claimed"] == 0
    assert statuses(db) == {"pending": 2}
