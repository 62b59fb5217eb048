"""API keys for the test clients, so a test against a stack with access control on needs no code for it.

A stack fixture registers its URLs with the key it made (`register`); while installed (`install`, done once per
session by tests/conftest.py), requests, aiohttp (HTTP and WebSocket handshakes) and urllib send `x-api-key` on
every request to a registered URL that carries neither `Authorization` nor `x-api-key` itself. A test about
missing or bad credentials sends its own header, or runs its requests inside `keyless()`.
"""
from __future__ import annotations

import contextlib
import threading
import urllib.request
from typing import Any, Iterator, Mapping

import aiohttp
import requests

_KEYS: dict[str, str] = {}  # URL prefix -> key
_STATE = threading.local()
_CREDENTIAL_HEADERS = ("authorization", "x-api-key")


def register(key: str, *urls: str) -> None:
    for url in urls:
        _KEYS[url.rstrip("/")] = key


def unregister(*urls: str) -> None:
    for url in urls:
        _KEYS.pop(url.rstrip("/"), None)


def key_for(url: Any) -> str | None:
    if getattr(_STATE, "keyless", False):
        return None
    text = str(url)
    return next((key for prefix, key in _KEYS.items() if text == prefix or text.startswith(prefix + "/")
                 or text.startswith(prefix + "?")), None)


@contextlib.contextmanager
def keyless() -> Iterator[None]:
    """Requests made in this block (this thread) carry only the headers the test gives."""
    _STATE.keyless = True
    try:
        yield
    finally:
        _STATE.keyless = False


def _has_credentials(*header_sets: Mapping[str, Any] | None) -> bool:
    return any(str(name).lower() in _CREDENTIAL_HEADERS for headers in header_sets if headers for name in headers)


def with_key(url: Any, headers: Mapping[str, Any] | None, *defaults: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    key = key_for(url)
    if key is None or _has_credentials(headers, *defaults):
        return headers
    return {**dict(headers or {}), "x-api-key": key}


def install() -> None:
    if getattr(requests.Session, "_keyed", False):
        return
    session_request = requests.Session.request

    def keyed_request(self, method, url, *args, headers=None, **kwargs):
        return session_request(self, method, url, *args, headers=with_key(url, headers, self.headers), **kwargs)

    requests.Session.request = keyed_request
    requests.Session._keyed = True

    aiohttp_request = aiohttp.ClientSession._request

    async def keyed_aiohttp(self, method, url, *args, headers=None, **kwargs):
        return await aiohttp_request(self, method, url, *args, headers=with_key(url, headers, self._default_headers),
                                     **kwargs)

    aiohttp.ClientSession._request = keyed_aiohttp

    opener_open = urllib.request.OpenerDirector.open

    def keyed_open(self, fullurl, *args, **kwargs):
        request = fullurl if isinstance(fullurl, urllib.request.Request) else urllib.request.Request(fullurl)
        key = key_for(request.full_url)
        if key is not None and not _has_credentials(dict(request.header_items())):
            request.add_header("X-api-key", key)
        return opener_open(self, request, *args, **kwargs)

    urllib.request.OpenerDirector.open = keyed_open
