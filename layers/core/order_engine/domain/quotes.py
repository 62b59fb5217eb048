"""A quote: what `GET /api/quote` promised, and what an order executed by its `quoteId` is held to.

A quote binds the pair, the input amount, the route (venues and each leg's input, as quoted), the slippage and
so the minimum output; it is valid until `expires_at_ms`. An order placed with its id executes on that route
with that minimum, and fails rather than re-routes when the market has moved past it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from order_engine.domain.slippage import min_amount_out
from order_engine.domain.swaps import Route
from order_engine.domain.tokens import by_mint, to_decimal_string


@dataclass(frozen=True)
class QuoteTerms:
    quote_id: str
    input_mint: str
    output_mint: str
    amount_in: int
    slippage_bps: int
    min_amount_out: int
    route: dict[str, Any]  # Route.to_detail()
    quoted_at_ms: int
    expires_at_ms: int

    @classmethod
    def for_route(cls, quote_id: str, route: Route, slippage_bps: int, now_ms: int, ttl_ms: int) -> "QuoteTerms":
        return cls(quote_id, route.input_mint, route.output_mint, route.amount_in, slippage_bps,
                   min_amount_out(route.amount_out, slippage_bps), route.to_detail(), now_ms, now_ms + ttl_ms)

    def to_record(self) -> dict[str, Any]:
        """As stored (Redis while valid, then on the order it was executed by)."""
        return {"quoteId": self.quote_id, "inputMint": self.input_mint, "outputMint": self.output_mint,
                "amountIn": str(self.amount_in), "slippageBps": self.slippage_bps,
                "minAmountOut": str(self.min_amount_out), "route": self.route,
                "quotedAt": self.quoted_at_ms, "expiresAt": self.expires_at_ms}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "QuoteTerms":
        return cls(record["quoteId"], record["inputMint"], record["outputMint"], int(record["amountIn"]),
                   int(record["slippageBps"]), int(record["minAmountOut"]), record["route"],
                   int(record["quotedAt"]), int(record["expiresAt"]))

    def executable_route(self) -> Route:
        return Route.from_detail(self.input_mint, self.output_mint, self.route)

    def to_api(self) -> dict[str, Any]:
        token_in, token_out = by_mint(self.input_mint), by_mint(self.output_mint)
        route = self.route
        return {
            "quoteId": self.quote_id,
            "tokenIn": token_in.symbol, "tokenOut": token_out.symbol,
            "inputMint": self.input_mint, "outputMint": self.output_mint,
            "amountIn": str(self.amount_in), "amount": to_decimal_string(self.amount_in, token_in),
            "slippageBps": self.slippage_bps,
            "expectedAmountOut": route["expectedAmountOut"],
            "minAmountOut": str(self.min_amount_out),
            "minAmount": to_decimal_string(self.min_amount_out, token_out),
            "priceImpactBps": route["priceImpactBps"],
            "route": {"dex": route["dex"], "legs": route["legs"], "reason": route["reason"]},
            "quotes": route["quotes"],
            "failedVenues": route["failedVenues"],
            "quotedAt": self.quoted_at_ms,
            "expiresAt": self.expires_at_ms,
        }
