"""Posting to one WebSocket connection through API Gateway's management API with boto3.

The WebSocket handlers use this for the few frames an invocation sends (pong, errors, a replay). The executor's
fan-out, which posts far more, uses the pooled async client in `ws_notifier.py` with the same wire format.
"""
from __future__ import annotations

import json
import logging
from enum import Enum
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

logger = logging.getLogger(__name__)


class PostResult(Enum):
    DELIVERED = "delivered"
    GONE = "gone"  # 410: the connection is closed, or its $connect has not returned yet
    FAILED = "failed"  # anything else, after botocore's retries


def encode_frame(frame: dict[str, Any]) -> bytes:
    return json.dumps(frame, separators=(",", ":")).encode()


class ConnectionPoster:
    """`POST /@connections/{id}` via boto3's `apigatewaymanagementapi` client, created on first use."""

    def __init__(self, endpoint_url: str):
        self.endpoint_url = endpoint_url
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client(
                "apigatewaymanagementapi",
                endpoint_url=self.endpoint_url,
                config=Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 3}),
            )
        return self._client

    def post(self, connection_id: str, frame: dict[str, Any]) -> PostResult:
        try:
            self.client.post_to_connection(ConnectionId=connection_id, Data=encode_frame(frame))
            return PostResult.DELIVERED
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "GoneException" or _status(exc) == 410:
                return PostResult.GONE
            logger.warning("post to connection failed", extra={"connection_id": connection_id, "error": str(exc)})
            return PostResult.FAILED
        except BotoCoreError as exc:
            logger.warning("post to connection failed", extra={"connection_id": connection_id, "error": str(exc)})
            return PostResult.FAILED


def _status(exc: ClientError) -> int | None:
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
