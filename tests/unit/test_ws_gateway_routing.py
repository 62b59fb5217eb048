"""The local gateway's route selection: `$request.body.action` as API Gateway evaluates it."""
from __future__ import annotations

import pytest

from local.ws_gateway import select_route

ROUTES = {"subscribe", "subscribeOrder", "unsubscribe", "ping"}


@pytest.mark.parametrize("body, route", [
    ('{"action": "subscribe", "orderId": "x"}', "subscribe"),
    ('{"action": "subscribeOrder"}', "subscribeOrder"),
    ('{"action": "ping"}', "ping"),
    ('{"action": "launch"}', "$default"),
    ('{"action": ["ping"]}', "$default"),
    ('{"action": true}', "$default"),
    ('{"orderId": "x"}', "$default"),
    ("[1, 2]", "$default"),
    ("not json", "$default"),
    (b"\x00\x01", "$default"),
])
def test_messages_go_to_the_route_their_action_names_or_to_default(body, route):
    assert select_route("$request.body.action", body, ROUTES) == route


def test_a_nested_selection_expression_is_followed():
    assert select_route("$request.body.meta.kind", '{"meta": {"kind": "ping"}}', ROUTES) == "ping"
