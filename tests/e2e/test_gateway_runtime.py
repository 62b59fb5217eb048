"""The Lambda runtime emulation: one process per execution environment, killed on timeout, replaced after a
crash, and schedules that invoke functions with EventBridge's payload (tests/fixtures/template.yaml)."""
from __future__ import annotations

import json

import requests

from tests.support.processes import alive


def test_a_timed_out_invocation_kills_its_worker_and_a_new_one_serves_the_next(gateway_stack, wait_for):
    base = gateway_stack.http_url
    before = requests.get(f"{base}/slow").json()["pid"]

    timed_out = requests.get(f"{base}/slow", params={"sleep": "30"})  # the function's Timeout is 1 s

    assert timed_out.status_code == 500
    assert timed_out.json() == {"message": "Internal Server Error"}
    wait_for(lambda: not alive(before))
    after = requests.get(f"{base}/slow")
    assert after.status_code == 200
    assert after.json()["pid"] != before


def test_a_crashed_worker_is_replaced(gateway_stack):
    base = gateway_stack.http_url
    before = requests.get(f"{base}/crash").json()["pid"]

    crashed = requests.get(f"{base}/crash", params={"exit": "1"})

    assert crashed.status_code == 500
    assert crashed.json() == {"message": "Internal Server Error"}
    after = requests.get(f"{base}/crash")
    assert after.status_code == 200
    assert after.json()["pid"] != before
    assert not alive(before)


def test_a_schedule_invokes_its_function_with_a_scheduled_event(gateway_stack, marker_dir, wait_for):
    ticks = wait_for(lambda: sorted(marker_dir.glob("tick-*.json")))
    event = json.loads(ticks[0].read_text())
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["resources"] == ["arn:aws:events:us-east-1:000000000000:rule/order-engine-EveryMinute"]
    assert event["detail"] == {}
