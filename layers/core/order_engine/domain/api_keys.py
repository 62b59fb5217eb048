"""Who a request is from: API keys (their format and the hash they are stored under), the client a valid key
belongs to, and the token bucket that limits a client's submits. Pure: the store keeps keys and buckets."""
from __future__ import annotations

import hashlib
import math
import re
import secrets
from dataclasses import dataclass

KEY_PREFIX = "oek_"
_KEY_BYTES = 32
# what a key the admin command made looks like; anything else is refused before a hash or a lookup
KEY_PATTERN = re.compile(r"^oek_[A-Za-z0-9_-]{43}$")
CLIENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:@-]{1,64}$")
OPERATOR_PATH_PREFIX = "/api/operator/"
# whom a WebSocket connection admitted with an operator key, or with access control off, reads as: every client
# (not a client id: CLIENT_ID_PATTERN has no '*')
EVERY_CLIENT = "*"


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(_KEY_BYTES)


def key_hash(key: str) -> str:
    """SHA-256, hex. Enough for 256-bit random keys (nothing to guess from); see 011_api_keys.sql."""
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def well_formed(key: str | None) -> bool:
    return isinstance(key, str) and KEY_PATTERN.fullmatch(key) is not None


def credentials(headers: dict[str, str], query: dict[str, str] | None = None) -> str | None:
    """The key a request presents: `Authorization: Bearer <key>`, else `x-api-key`, else (WebSocket) `?apiKey=`.
    Header names are compared case-insensitively, as HTTP does."""
    lowered = {str(k).lower(): v for k, v in (headers or {}).items()}
    authorization = lowered.get("authorization") or ""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if lowered.get("x-api-key"):
        return lowered["x-api-key"].strip()
    return (query or {}).get("apiKey") or None


@dataclass(frozen=True)
class Client:
    """The owner of a valid key, as the authorizer hands it to the functions (its context)."""

    id: str
    operator: bool
    rate_per_s: float
    burst: int

    @property
    def reads_as(self) -> str | None:
        """Whose orders this client's reads see: its own, or (an operator, who searches and retries any order
        from the operator panel) every client's (None)."""
        return None if self.operator else self.id

    def to_context(self) -> dict[str, str | bool | float | int]:
        return {"clientId": self.id, "operator": self.operator, "ratePerSecond": self.rate_per_s, "burst": self.burst}

    @classmethod
    def from_context(cls, context: dict) -> "Client | None":
        client_id = context.get("clientId")
        if not client_id:
            return None
        operator = context.get("operator")
        return cls(id=str(client_id), operator=operator is True or str(operator).lower() == "true",
                   rate_per_s=float(context.get("ratePerSecond") or 0), burst=int(context.get("burst") or 0))


@dataclass(frozen=True)
class KeyRecord:
    """A stored key as the admin command lists it (never the key itself)."""

    key_id: str
    client_id: str
    key_prefix: str
    label: str
    operator: bool
    rate_per_s: float | None
    burst: int | None
    created_at: object
    revoked_at: object | None


def retry_after_s(wait_ms: int) -> int:
    """Retry-After is whole seconds; never 0, which would invite an immediate retry that fails again."""
    return max(1, math.ceil(wait_ms / 1000))
