"""Posting to WebSocket connections through API Gateway's management API (`POST {endpoint}/@connections/{id}`,
SigV4-signed for `execute-api` with botocore's signer).

The WebSocket handlers post the few frames an invocation sends (acks, pong, errors, a replay) with
`ConnectionPoster`, a pooled urllib3 connection (urllib3 ships with botocore). boto3's `post_to_connection` sends
the same request at several times the CPU per post (README, Benchmarks), and a replay posts one frame per event.
The executor's fan-out, which posts far more, uses the pooled async client in `ws_notifier.py` with this signer.
"""
from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import quote

import botocore.session
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from order_engine.ports import PostResult

logger = logging.getLogger(__name__)

_AWS_ENDPOINT = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com", re.IGNORECASE)
NOT_RETRYABLE = frozenset({400, 403, 404, 413})  # a bad request or credentials: another try will not help
POST_ATTEMPTS = 3


def encode_frame(frame: dict[str, Any]) -> bytes:
    return json.dumps(frame, separators=(",", ":")).encode()


class ManagementApiSigner:
    """Signs management-API requests with botocore's SigV4 signer (service `execute-api`)."""

    def __init__(self, endpoint: str, credentials: Credentials | None = None, region: str | None = None):
        session = botocore.session.get_session()
        self.endpoint = endpoint.rstrip("/")
        self.credentials = credentials if credentials is not None else session.get_credentials()
        match = _AWS_ENDPOINT.search(self.endpoint)
        self.region = region or (match.group(1) if match else None) or session.get_config_variable("region") or "us-east-1"
        frozen = self.credentials.get_frozen_credentials() if self.credentials is not None else None
        self._auth = SigV4Auth(frozen, "execute-api", self.region) if frozen is not None else None
        if self._auth is None:
            logger.warning("no AWS credentials found: management-API posts go unsigned and AWS will refuse them")

    def url(self, connection_id: str) -> str:
        return f"{self.endpoint}/@connections/{quote(connection_id, safe='')}"

    def headers(self, method: str, url: str, body: bytes = b"") -> dict[str, str]:
        request = AWSRequest(method=method, url=url, data=body)
        if self._auth is not None:
            self._auth.add_auth(request)
        return dict(request.headers.items())


class ConnectionPoster:
    """`POST /@connections/{id}`, signed, through one pooled connection per process; retries briefly on errors
    other than 410 and the 4xx that another try cannot fix."""

    def __init__(self, endpoint_url: str, signer: ManagementApiSigner | None = None):
        self.endpoint_url = endpoint_url
        self._signer = signer
        self._pool: urllib3.PoolManager | None = None

    def post(self, connection_id: str, frame: dict[str, Any]) -> PostResult:
        if self._pool is None:
            self._signer = self._signer or ManagementApiSigner(self.endpoint_url)
            self._pool = urllib3.PoolManager(maxsize=4, timeout=urllib3.Timeout(connect=1, read=2), retries=False)
        url, body = self._signer.url(connection_id), encode_frame(frame)
        status, error = 0, ""
        for _ in range(POST_ATTEMPTS):
            try:
                status = self._pool.request("POST", url, body=body, headers=self._signer.headers("POST", url, body)).status
            except urllib3.exceptions.HTTPError as exc:
                status, error = 0, str(exc)
                continue
            if status < 300:
                return PostResult.DELIVERED
            if status == 410:
                return PostResult.GONE
            if status in NOT_RETRYABLE:
                break
        logger.warning("post to connection failed",
                       extra={"connection_id": connection_id, "status": status, "error": error})
        return PostResult.FAILED
