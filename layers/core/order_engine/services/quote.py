"""Quote preview: the route the executor would take now, priced, with a quoteId an order can be executed by.

It asks the same `Dex.route` the executor asks (both venues quoted, the route chosen by domain/routing.py), so a
quote and an execution never disagree on how a route is chosen. The query takes the submit body's fields and is
parsed by the submit body's parser.
"""
from __future__ import annotations

import re
import secrets
from typing import Any, Callable, Mapping

from order_engine.config import Settings
from order_engine.domain.order import BASE_UNIT_SHAPE, SLIPPAGE_BPS, WHOLE_SHAPE, parse_order_request
from order_engine.domain.quotes import QuoteTerms
from order_engine.domain.swaps import DexError, NoRoute
from order_engine.errors import ErrorCode, EngineError, InvalidField
from order_engine.ports import Dex, QuoteBook
from order_engine.services.submit import wall_clock_ms

QUERY_FIELDS = (*WHOLE_SHAPE, *BASE_UNIT_SHAPE, SLIPPAGE_BPS)
_BPS_TEXT = re.compile(r"^[0-9]{1,5}$")


def new_quote_id() -> str:
    return f"q_{secrets.token_hex(16)}"


class QuoteService:
    def __init__(self, settings: Settings, dex: Dex, book: QuoteBook, clock_ms: Callable[[], int] = wall_clock_ms):
        self.settings, self.dex, self.book, self._clock_ms = settings, dex, book, clock_ms

    async def quote(self, query: Mapping[str, str | None]) -> dict[str, Any]:
        request = parse_order_request(_as_body(query), default_slippage_bps=self.settings.default_slippage_bps,
                                      max_slippage_bps=self.settings.max_slippage_bps)
        amount_field = BASE_UNIT_SHAPE[2] if query.get(BASE_UNIT_SHAPE[2]) is not None else WHOLE_SHAPE[2]
        try:
            route = await self.dex.route(request.token_in.mint, request.token_out.mint, request.amount_in)
        except NoRoute as exc:
            raise InvalidField(amount_field, "routable", exc.message) from exc
        except DexError as exc:
            raise EngineError(f"The venues could not quote: {exc.message} Retry shortly.",
                              [{"dependency": "venues", "reason": exc.reason}], code=ErrorCode.VENUE_UNAVAILABLE) from exc
        ttl_ms = self.settings.quote_ttl_ms
        terms = QuoteTerms.for_route(new_quote_id(), route, request.slippage_bps, self._clock_ms(), ttl_ms)
        self.book.put(terms.quote_id, terms.to_record(), ttl_ms)
        return terms.to_api()


def _as_body(query: Mapping[str, str | None]) -> dict[str, Any]:
    """The query as a submit body: the same fields, slippageBps read as the integer it must be."""
    unknown = [name for name in query if name not in QUERY_FIELDS]
    if unknown:
        name = unknown[0][:64]
        raise InvalidField(name, "extra_forbidden",
                           f"{name} is not a parameter of this request; allowed: {', '.join(QUERY_FIELDS)}.")
    body: dict[str, Any] = {k: v for k, v in query.items() if v is not None}
    slippage = body.get(SLIPPAGE_BPS)
    if slippage is not None:
        if not _BPS_TEXT.fullmatch(slippage):
            raise InvalidField(SLIPPAGE_BPS, "integer", f"{SLIPPAGE_BPS} must be an integer number of basis points.")
        body[SLIPPAGE_BPS] = int(slippage)
    return body
