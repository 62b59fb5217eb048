"""Opaque, signed history cursors: a client can hand one back but not forge or alter one."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime

from order_engine.errors import EngineError, ErrorCode
from order_engine.domain.order import HistoryPosition

_MAC_BYTES = 12


def encode(position: HistoryPosition, secret: str) -> str:
    payload = json.dumps([position.created_at.isoformat(), position.order_id], separators=(",", ":")).encode()
    mac = hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")


def decode(cursor: str, secret: str) -> HistoryPosition:
    invalid = EngineError(
        "cursor is not one this API issued; pass nextCursor from the previous page unchanged.",
        [{"field": "cursor", "rule": "issued_cursor", "message": "cursor was altered or is not from this API."}],
        code=ErrorCode.INVALID_CURSOR,
    )
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, TypeError):
        raise invalid from None
    mac, payload = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
    expected = hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:_MAC_BYTES]
    if len(cursor) > 512 or not hmac.compare_digest(mac, expected):
        raise invalid
    created_at, order_id = json.loads(payload)
    return HistoryPosition(datetime.fromisoformat(created_at), order_id)
