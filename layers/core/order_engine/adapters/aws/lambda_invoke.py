"""Asynchronous Lambda invokes (the local gateway answers the same API): waking an executor, and starting the replay
of a `?orderId=` subscription."""
from __future__ import annotations

import json
import logging
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

logger = logging.getLogger(__name__)


class ExecutorWaker:
    """`Waker`: submit wakes one when none is live; a live executor launches the ones the queue needs beyond the
    live ones."""

    def __init__(self, function_name: str):
        self.function_name = function_name
        self._client = None

    def wake(self, reason: str, slot: str | None = None, source: str = "order-engine.submit") -> bool:
        """Best effort: the schedule starts an executor within a minute anyway, so a failure only logs. `slot` is
        the start slot reserved for the new executor in Redis (it removes it at its first heartbeat)."""
        try:
            if self._client is None:
                self._client = boto3.client(
                    "lambda", config=Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1})
                )
            self._client.invoke(
                FunctionName=self.function_name,
                InvocationType="Event",
                Payload=json.dumps({"source": source, "reason": reason, "slot": slot}).encode(),
            )
            return True
        except (BotoCoreError, ClientError) as exc:
            logger.warning("could not wake the executor", extra={"error": str(exc), "function": self.function_name})
            return False


class ReplayInvoker:
    """Starts the replay of a `?orderId=` subscription with an asynchronous Lambda invoke.
    
    `$connect` cannot post to its own connection (API Gateway answers 410 until it returns), so it hands the replay to
    another invocation that waits for the connection to open. The local gateway answers the same Invoke API.
    """

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
