"""Lambda authorizers as API Gateway runs them, for the local HTTP and WebSocket gateways: every identity source
the authorizer lists must be present (else 401 without invoking it); its answer is cached per identity for the
authorizer's TTL (HTTP APIs only; 0 turns the cache off); a simple response's `isAuthorized` or an IAM policy's
Effect decides; an authorizer that raises "Unauthorized" is 401, one that fails otherwise is 500; a denial is 403.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping

from local.runtime import FunctionError, InvokeError
from local.template import Authorizer

Invoke = Callable[[str, Any], Awaitable[Any]]


@dataclass(frozen=True)
class Decision:
    status: int  # 200: allowed; else the gateway's refusal
    context: dict[str, Any] = field(default_factory=dict)
    principal_id: str | None = None

    @property
    def allowed(self) -> bool:
        return self.status == 200


UNAUTHORIZED, FORBIDDEN, FAILED = Decision(401), Decision(403), Decision(500)


def identity_values(sources: tuple[str, ...], headers: Mapping[str, str], query: Mapping[str, str]) -> list[str] | None:
    """The values of the identity sources, in order; None when one is missing or empty."""
    lowered = {k.lower(): v for k, v in headers.items()}
    values = []
    for source in sources:
        kind, _, name = source.removeprefix("$").removeprefix("route.").removeprefix("request.").partition(".")
        value = lowered.get(name.lower()) if kind == "header" else query.get(name) if kind == "querystring" else None
        if not value:
            return None
        values.append(value)
    return values


def _policy_allows(policy: Any) -> bool:
    statements = (policy or {}).get("Statement") or []
    statements = [statements] if isinstance(statements, dict) else statements
    effects = {str(s.get("Effect", "")).lower() for s in statements if isinstance(s, dict)}
    return "allow" in effects and "deny" not in effects


def decide(authorizer: Authorizer, result: Any) -> Decision:
    if not isinstance(result, dict):
        return FAILED
    context = result.get("context") or {}
    if authorizer.simple_responses:
        if not isinstance(result.get("isAuthorized"), bool):
            return FAILED
        return Decision(200, context) if result["isAuthorized"] else FORBIDDEN
    if "principalId" not in result or "policyDocument" not in result:
        return FAILED
    return Decision(200, context, str(result["principalId"])) if _policy_allows(result["policyDocument"]) else FORBIDDEN


class AuthorizerRunner:
    def __init__(self, invoke: Invoke, clock: Callable[[], float] = time.monotonic):
        self.invoke, self.clock = invoke, clock
        self._cache: dict[tuple[str, tuple[str, ...]], tuple[float, Decision]] = {}

    async def authorize(self, authorizer: Authorizer, event: dict[str, Any], headers: Mapping[str, str],
                        query: Mapping[str, str]) -> Decision:
        values = identity_values(authorizer.identity_sources, headers, query)
        if values is None:
            return UNAUTHORIZED
        cacheable = authorizer.ttl_s > 0 and bool(values)
        key = (authorizer.name, tuple(values))
        if cacheable:
            hit = self._cache.get(key)
            if hit is not None and hit[0] > self.clock():
                return hit[1]
        if authorizer.identity_sources:
            event = {**event, "identitySource": values}
        try:
            result = await self.invoke(authorizer.function, event)
        except FunctionError as exc:
            return UNAUTHORIZED if (exc.payload or {}).get("errorMessage") == "Unauthorized" else FAILED
        except InvokeError:
            return FAILED
        decision = decide(authorizer, result)
        if cacheable and decision.status in (200, 403):
            self._cache[key] = (self.clock() + authorizer.ttl_s, decision)
        return decision
