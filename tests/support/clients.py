"""HTTP and WebSocket clients that carry an API key explicitly (nothing is patched: a plain `requests`, `aiohttp` or
`urllib` call sends only the headers its test gives, which is what a test about missing or bad credentials wants).

A stack with access control on (`local_stack`, `start_engine`, the fault suite's `engine`, the integration
`ws_stack`) made an operator key, `stack.api_key` (None when access control is off). These send it as `x-api-key`:

- `KeyedSession(key)`: a `requests.Session`, sending the key on every request that has no `Authorization` or
  `x-api-key` of its own (`StackProcess.client` is one);
- `aiohttp_session(key, **kwargs)`: an `aiohttp.ClientSession` with the key among its default headers, so on its
  HTTP requests and its WebSocket handshakes (`StackProcess.session()`, `WsStack.session()`);
- `ws_connect(session, url, key, **kwargs)`: a WebSocket handshake with the key, on any aiohttp session;
- `urlopen(url_or_request, key, **kwargs)`: urllib's, with the key (`StackProcess.urlopen`).
"""
from __future__ import annotations

import urllib.request
from typing import Any, Mapping

import aiohttp
import requests

API_KEY_HEADER = "x-api-key"
_CREDENTIAL_HEADERS = ("authorization", API_KEY_HEADER)


def key_headers(api_key: str | None) -> dict[str, str]:
    """The header that carries the key; none without a key."""
    return {API_KEY_HEADER: api_key} if api_key else {}


def has_credentials(headers: Mapping[str, Any] | None) -> bool:
    return any(str(name).lower() in _CREDENTIAL_HEADERS for name in headers or ())


class KeyedSession(requests.Session):
    """A requests session that sends `api_key` on each request unless the request carries credentials itself."""

    def __init__(self, api_key: str | None):
        super().__init__()
        self.api_key = api_key

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        if self.api_key and not has_credentials(request.headers) and not has_credentials(self.headers):
            request.headers = {**dict(request.headers or {}), **key_headers(self.api_key)}
        return super().prepare_request(request)


def aiohttp_session(api_key: str | None, **kwargs: Any) -> aiohttp.ClientSession:
    """An aiohttp session whose requests and WebSocket handshakes carry the key (a request's own header of the same
    name replaces it); `kwargs` as aiohttp.ClientSession's."""
    headers = {**key_headers(api_key), **dict(kwargs.pop("headers", None) or {})}
    return aiohttp.ClientSession(headers=headers, **kwargs)


def ws_connect(session: aiohttp.ClientSession, url: str, api_key: str | None, **kwargs: Any):
    """`session.ws_connect(url, ...)` with the key in the handshake's headers (await it or use it with `async with`)."""
    headers = dict(kwargs.pop("headers", None) or {})
    if not has_credentials(headers):
        headers.update(key_headers(api_key))
    return session.ws_connect(url, headers=headers, **kwargs)


def urlopen(url_or_request: str | urllib.request.Request, api_key: str | None, **kwargs: Any):
    """`urllib.request.urlopen` with the key, unless the request carries credentials itself."""
    request = url_or_request if isinstance(url_or_request, urllib.request.Request) else urllib.request.Request(
        url_or_request)
    if api_key and not has_credentials(dict(request.header_items())):
        request.add_header(API_KEY_HEADER, api_key)
    return urllib.request.urlopen(request, **kwargs)
