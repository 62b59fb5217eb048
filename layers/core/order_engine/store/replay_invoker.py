"""Starts the replay of a `?orderId=` subscription with an asynchronous Lambda invoke.

`$connect` cannot post to its own connection (API Gateway answers 410 until it returns), so it hands the replay to
another invocation that waits for the connection to open. The local gateway answers the same Invoke API.
"""
from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.config import Config


class ReplayInvoker:
    def __init__(self, function_name: str):
        self.function_name = function_name
        self._client: Any = None

    def start(self, connection_id: str, order_id: str) -> None:
        """Raises botocore's errors when Lambda refuses the invoke; the caller decides what that means."""
        if self._client is None:
            self._client = boto3.client(
                "lambda", config=Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 3})
            )
        self._client.invoke(
            FunctionName=self.function_name,
            InvocationType="Event",
            Payload=json.dumps({"connectionId": connection_id, "orderId": order_id}).encode(),
        )
