"""Wakes an executor with an asynchronous Lambda invoke (the local gateway answers the same API)."""
from __future__ import annotations

import json
import logging

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

logger = logging.getLogger(__name__)


class ExecutorWaker:
    def __init__(self, function_name: str):
        self.function_name = function_name
        self._client = None

    def wake(self, reason: str) -> bool:
        """Best effort: the schedule starts an executor within a minute anyway, so a failure only logs."""
        try:
            if self._client is None:
                self._client = boto3.client(
                    "lambda", config=Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1})
                )
            self._client.invoke(
                FunctionName=self.function_name,
                InvocationType="Event",
                Payload=json.dumps({"source": "order-engine.submit", "reason": reason}).encode(),
            )
            return True
        except (BotoCoreError, ClientError) as exc:
            logger.warning("could not wake the executor", extra={"error": str(exc), "function": self.function_name})
            return False
