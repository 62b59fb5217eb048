"""The deploy script's smoke test (infra/deploy/smoke.py), run against the local stack: a deployment it passes
takes an order from submit over the WebSocket to confirmed and into the history."""
import asyncio

import pytest

from infra.deploy.smoke import SmokeFailed, smoke

pytestmark = pytest.mark.e2e


def test_the_smoke_test_follows_an_order_to_confirmed_and_finds_it_in_history(local_stack):
    result = asyncio.run(smoke(local_stack.http_url, local_stack.ws_url, timeout_s=60, api_key=local_stack.api_key))
    assert result["statuses"][0] in ("pending", "routing") and result["statuses"][-1] == "confirmed"
    assert "submitted" in result["statuses"]


def test_the_smoke_test_fails_naming_the_step_when_the_websocket_is_wrong(local_stack):
    with pytest.raises(SmokeFailed, match="WebSocket"):
        asyncio.run(smoke(local_stack.http_url, local_stack.ws_url.rsplit("/", 1)[0] + "/nostage", timeout_s=10,
                          api_key=local_stack.api_key))
