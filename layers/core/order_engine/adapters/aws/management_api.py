"""Posting to WebSocket connections through API Gateway's management API (`POST {endpoint}/@connections/{id}`,
SigV4-signed for `execute-api` with botocore's signer).

The WebSocket handlers post the few frames an invocation sends (acks, pong, errors, a replay) with
`ConnectionPoster`, a pooled urllib3 connection (urllib3 ships with botocore). boto3's `post_to_connection` sends
the same request at several times the CPU per post (docs/benchmarks.md). The management API takes one frame per
request, so a replay's frames (`post_many`) go as HTTP/1.1 pipelined requests over one kept-alive connection:
written in one pass, their answers read in order, each request signed (SigV4 covers the body's hash, so no
signature serves two frames); from the first frame that was not answered 2xx or 410, the rest go one by one
(frames behind a 5xx may already have arrived, so the retried one arrives after them: clients order by seq).
A connection lost, or an answer that times out, in the middle of a batch (after its first answer) turns pipelining
off for the environment; a batch that gets no answer in time is a slow endpoint: its frames go one by one, this time.
The executor's fan-out, which posts far more, uses the pooled async client in `ws_notifier.py` with this signer.
"""
from __future__ import annotations

import datetime
import hashlib
import hmac
import http.client
import io
import json
import logging
import re
import socket
import ssl
from typing import Any, Sequence
from urllib.parse import quote, urlsplit

import botocore.session
import urllib3
from botocore.credentials import Credentials

from order_engine.ports import PostResult

logger = logging.getLogger(__name__)

_AWS_ENDPOINT = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com", re.IGNORECASE)
NOT_RETRYABLE = frozenset({400, 403, 404, 413})  # a bad request or credentials: another try will not help
POST_ATTEMPTS = 3


def encode_frame(frame: dict[str, Any]) -> bytes:
    return json.dumps(frame, separators=(",", ":")).encode()


class ManagementApiSigner:
    """Signs management-API requests with SigV4 (service `execute-api`), as botocore's `SigV4Auth` does (a unit
    test holds the two to the same signature), at a fraction of its CPU: a post signs a fixed set of headers
    (host, x-amz-date, and the session token when there is one), and the signing key, which changes once a day,
    is derived once per day instead of once per request. botocore still finds the credentials."""

    SERVICE = "execute-api"

    def __init__(self, endpoint: str, credentials: Credentials | None = None, region: str | None = None):
        session = botocore.session.get_session()
        self.endpoint = endpoint.rstrip("/")
        self.credentials = credentials if credentials is not None else session.get_credentials()
        match = _AWS_ENDPOINT.search(self.endpoint)
        self.region = region or (match.group(1) if match else None) or session.get_config_variable("region") or "us-east-1"
        self._frozen = self.credentials.get_frozen_credentials() if self.credentials is not None else None
        if self._frozen is None:
            logger.warning("no AWS credentials found: management-API posts go unsigned and AWS will refuse them")
        parts = urlsplit(self.endpoint)
        default_port = {"http": 80, "https": 443}.get(parts.scheme)
        host = parts.hostname or ""
        self._host = host if parts.port in (None, default_port) else f"{host}:{parts.port}"
        token = self._frozen.token if self._frozen is not None else None
        self._token_headers = {"X-Amz-Security-Token": token} if token else {}
        self._signed = "host;x-amz-date" + (";x-amz-security-token" if token else "")
        self._token_line = f"x-amz-security-token:{token}\n" if token else ""
        self._key_day, self._key = "", b""

    @property
    def host(self) -> str:
        """The Host header the signature covers."""
        return self._host

    def url(self, connection_id: str) -> str:
        return f"{self.endpoint}/@connections/{quote(connection_id, safe='')}"

    def _signing_key(self, day: str) -> bytes:
        if day != self._key_day:
            key = ("AWS4" + self._frozen.secret_key).encode()
            for part in (day, self.region, self.SERVICE, "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            self._key_day, self._key = day, key
        return self._key

    def headers(self, method: str, url: str, body: bytes = b"", amz_date: str | None = None) -> dict[str, str]:
        if self._frozen is None:
            return {}
        amz_date = amz_date or datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        day = amz_date[:8]
        canonical = (f"{method}\n{quote(urlsplit(url).path, safe='/~')}\n\nhost:{self._host}\n"
                     f"x-amz-date:{amz_date}\n{self._token_line}\n{self._signed}\n{hashlib.sha256(body).hexdigest()}")
        scope = f"{day}/{self.region}/{self.SERVICE}/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        signature = hmac.new(self._signing_key(day), to_sign.encode(), hashlib.sha256).hexdigest()
        return {"X-Amz-Date": amz_date, **self._token_headers,
                "Authorization": f"AWS4-HMAC-SHA256 Credential={self._frozen.access_key}/{scope}, "
                                 f"SignedHeaders={self._signed}, Signature={signature}"}


    def post_request(self, connection_id: str, body: bytes) -> bytes:
        """The signed `POST @connections/{id}` of one frame as HTTP/1.1 bytes, for a pipelined connection."""
        url = self.url(connection_id)
        head = "".join(f"{name}: {value}\r\n" for name, value in self.headers("POST", url, body).items())
        return (f"POST {urlsplit(url).path} HTTP/1.1\r\nHost: {self._host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n{head}\r\n").encode() + body


class ConnectionPoster:
    """`POST /@connections/{id}`, signed, through one pooled connection per process; retries briefly on errors
    other than 410 and the 4xx that another try cannot fix."""

    def __init__(self, endpoint_url: str, signer: ManagementApiSigner | None = None):
        self.endpoint_url = endpoint_url
        self._signer = signer
        self._pool: urllib3.PoolManager | None = None
        self._pipe: _Pipe | None = None
        self._pipelining = True

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

    def post_many(self, connection_id: str, frames: Sequence[dict[str, Any]]) -> list[PostResult]:
        """Post `frames` in order; the results of those sent, which stop after a GONE."""
        if self._signer is None:
            self._signer = ManagementApiSigner(self.endpoint_url)
        results = self._pipelined(connection_id, frames) if len(frames) > 1 and self._pipelining else []
        for frame in frames[len(results):]:
            if results and results[-1] is PostResult.GONE:
                break
            results.append(self.post(connection_id, frame))
        return results

    def _pipelined(self, connection_id: str, frames: Sequence[dict[str, Any]]) -> list[PostResult]:
        """The answered prefix of a pipelined batch: DELIVERED or GONE for each frame answered so, in order."""
        requests = [self._signer.post_request(connection_id, encode_frame(frame)) for frame in frames]
        results: list[PostResult] = []
        for fresh in (False, True):  # a kept-alive connection the server closed meanwhile: one more, new one
            try:
                pipe = self._pipe if self._pipe is not None and not fresh else self._open_pipe()
                pipe.sock.sendall(b"".join(requests))
                self._read_answers(pipe, len(requests), results)
            except (OSError, http.client.HTTPException) as exc:
                logger.debug("pipelined posts failed", extra={"connection_id": connection_id, "error": str(exc)})
                if not results and not fresh:  # the kept-alive connection had been closed by the server
                    self._close_pipe()
                    continue
                if not results and isinstance(exc, TimeoutError):
                    break  # a slow endpoint, not one that ignores pipelining (that one answers the first request)
                # a server that drops or ignores pipelined requests: one frame per request from now on
                logger.warning("pipelined posts turned off", extra={"error": str(exc)})
                self._pipelining = False
            break
        if len(results) < len(requests):  # answers still on the way would be read as the next batch's
            self._close_pipe()
        return results

    def _read_answers(self, pipe: "_Pipe", count: int, results: list[PostResult]) -> None:
        for _ in range(count):
            response = http.client.HTTPResponse(pipe)  # type: ignore[arg-type] - it only asks for makefile()
            response.begin()
            response.read()
            if response.status < 300:
                results.append(PostResult.DELIVERED)
            elif response.status == 410:
                results.append(PostResult.GONE)
                return
            else:
                return
            if response.will_close:
                return

    def _open_pipe(self) -> "_Pipe":
        self._close_pipe()
        self._pipe = _Pipe.connect(self.endpoint_url)
        return self._pipe

    def _close_pipe(self) -> None:
        if self._pipe is not None:
            self._pipe.close()
            self._pipe = None


class _Pipe:
    """One kept-alive connection to the management API: its socket and the one buffered reader every response of a
    pipelined batch is read from (`http.client.HTTPResponse` asks its "socket" for `makefile`)."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.reader = _KeptReader(socket.SocketIO(sock, "rb"))

    @classmethod
    def connect(cls, endpoint_url: str, timeout: float = 2.0) -> "_Pipe":
        parts = urlsplit(endpoint_url)
        secure = parts.scheme == "https"
        sock = socket.create_connection((parts.hostname, parts.port or (443 if secure else 80)), timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if secure:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=parts.hostname)
        return cls(sock)

    def makefile(self, mode: str) -> Any:  # noqa: ARG002 - the shared reader, whatever the mode asked
        return self.reader

    def close(self) -> None:
        try:
            io.BufferedReader.close(self.reader)
            self.sock.close()
        except OSError:
            pass


class _KeptReader(io.BufferedReader):
    """A response closes its reader once read; the next response of the batch is read from the same one."""

    def close(self) -> None:
        pass
