"""The engine's own functions behind the local gateway: an order submitted over HTTP in either seed shape can
be read back by id and in the history."""
from __future__ import annotations


def test_orders_submitted_in_both_shapes_can_be_read_back(local_stack):
    base = local_stack.http_url
    whole = local_stack.client.post(f"{base}/api/orders/execute",
                                    json={"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1})
    base_units = local_stack.client.post(f"{base}/api/orders/execute",
                                         json={"inputMint": "SOL", "outputMint": "USDC", "amountIn": 1_000_000_000})
    assert whole.status_code == 202, whole.text
    assert base_units.status_code == 202, base_units.text

    for accepted in (whole.json(), base_units.json()):
        order = local_stack.client.get(f"{base}/api/orders/{accepted['orderId']}")
        assert order.status_code == 200, order.text
        assert order.json()["orderId"] == accepted["orderId"]
        assert order.json()["amountIn"] == "1000000000"
    history = local_stack.client.get(f"{base}/api/orders/history", params={"limit": 500}).json()
    listed = {o["orderId"] for o in history["orders"]}
    assert {whole.json()["orderId"], base_units.json()["orderId"]} <= listed
