"""What the engine and the venues + chain it trades on say to each other: quotes, routes, built swaps, results, errors.

The executor only ever calls a `Dex` (`order_engine.ports`): route (quote every venue, choose), build, submit,
confirm, and ask a signature's status when recovering. Amounts are integers in base units. Errors are `DexError`s whose
`retryable` flag tells the executor whether a fresh attempt (with fresh quotes) may succeed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

RAYDIUM = "raydium"
METEORA = "meteora"
VENUES = (RAYDIUM, METEORA)  # the venues the router quotes, in the order it quotes them


@dataclass(frozen=True)
class Quote:
    venue: str  # "raydium" | "meteora"
    amount_in: int
    amount_out: int  # after fees and price impact
    fee: int  # in input base units
    price_impact_bps: int
    volatility_bps: int = 0  # how far the venue's price may move before a swap quoted now lands


@dataclass(frozen=True)
class RouteLeg:
    venue: str
    amount_in: int
    amount_out: int  # as quoted
    price_impact_bps: int = 0


@dataclass(frozen=True)
class Route:
    input_mint: str
    output_mint: str
    amount_in: int
    legs: tuple[RouteLeg, ...]  # one leg, or two when splitting across venues pays
    quotes: tuple[Quote, ...]  # every venue's quote for the whole amount (failed venues absent)
    reason: str  # a sentence: why this route
    failures: tuple[tuple[str, str], ...] = ()  # (venue, reason) for each venue that did not quote

    @property
    def amount_out(self) -> int:
        return sum(leg.amount_out for leg in self.legs)

    @property
    def price_impact_bps(self) -> int:
        return max((leg.price_impact_bps for leg in self.legs), default=0)

    @property
    def volatility_bps(self) -> int:
        """The recent volatility of the venues the route trades on (the most volatile of them)."""
        venues = {leg.venue for leg in self.legs}
        return max((q.volatility_bps for q in self.quotes if q.venue in venues), default=0)

    @property
    def dex(self) -> str:
        """The venue name recorded on the order ('raydium', 'meteora', or 'raydium+meteora' for a split)."""
        return "+".join(leg.venue for leg in self.legs)

    def to_detail(self) -> dict[str, Any]:
        """JSON-ready routing event detail (camelCase, amounts as strings of base units)."""
        return {
            "dex": self.dex,
            "amountIn": str(self.amount_in),
            "expectedAmountOut": str(self.amount_out),
            "priceImpactBps": self.price_impact_bps,
            "volatilityBps": self.volatility_bps,
            "legs": [
                {"venue": leg.venue, "amountIn": str(leg.amount_in), "amountOut": str(leg.amount_out),
                 "percent": leg.amount_in * 100 // self.amount_in if self.amount_in else 0,
                 "priceImpactBps": leg.price_impact_bps}
                for leg in self.legs
            ],
            "quotes": [
                {"venue": q.venue, "amountIn": str(q.amount_in), "amountOut": str(q.amount_out), "fee": str(q.fee),
                 "priceImpactBps": q.price_impact_bps, "volatilityBps": q.volatility_bps}
                for q in self.quotes
            ],
            "failedVenues": [{"venue": venue, "reason": reason} for venue, reason in self.failures],
            "reason": self.reason,
        }


    @classmethod
    def from_detail(cls, input_mint: str, output_mint: str, detail: dict[str, Any]) -> "Route":
        """The route a `to_detail()` describes (a quote's route, executed as it was quoted)."""
        legs = tuple(RouteLeg(leg["venue"], int(leg["amountIn"]), int(leg["amountOut"]),
                              int(leg.get("priceImpactBps", 0))) for leg in detail["legs"])
        quotes = tuple(Quote(q["venue"], int(q["amountIn"]), int(q["amountOut"]), int(q["fee"]),
                             int(q["priceImpactBps"]), int(q.get("volatilityBps", 0))) for q in detail["quotes"])
        failures = tuple((f["venue"], f["reason"]) for f in detail.get("failedVenues", ()))
        return cls(input_mint, output_mint, int(detail["amountIn"]), legs, quotes, detail["reason"], failures)


@dataclass(frozen=True)
class BuiltSwap:
    order_id: str
    route: Route
    min_amount_out: int
    steps: tuple[str, ...]  # e.g. ("wrap_sol", "swap:raydium", "unwrap_sol")
    priority_fee_lamports: int
    blockhash: str
    blockhash_expires_at_ms: int
    detail: dict[str, Any] = field(default_factory=dict)
    # The transaction's signature, fixed when it is signed at build time (as on Solana, before it is sent);
    # `submit` returns the same value. The executor records it before sending, so a recovered order can ask the
    # chain about the exact transaction that may have landed. None only for venues that cannot know it.
    signature: str | None = None


class SignatureState(StrEnum):
    PENDING = "pending"  # sent, not yet confirmed; may still land
    CONFIRMED = "confirmed"  # landed and succeeded
    FAILED = "failed"  # landed and failed (e.g. slippage): no effect on balances
    EXPIRED = "expired"  # never landed and never can (its blockhash expired)
    UNKNOWN = "unknown"  # the chain has never seen it


@dataclass(frozen=True)
class SwapResult:
    signature: str
    state: SignatureState
    amount_out: int | None = None
    executed_price: str | None = None  # output per input, whole tokens, decimal string
    error: str | None = None


class DexError(Exception):
    retryable: bool = True
    reason: str = "dex_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class QuoteTimeout(DexError):
    reason = "quote_timeout"


class VenueUnavailable(DexError):
    reason = "venue_error"


class RpcError(DexError):
    reason = "rpc_error"


class BlockhashExpired(DexError):
    reason = "blockhash_expired"


class SlippageExceeded(DexError):
    reason = "slippage_exceeded"


class TransactionDropped(DexError):
    """The chain has no record of the transaction and will never land it (e.g. its mempool was lost)."""

    reason = "transaction_dropped"


class NoRoute(DexError):
    """No venue can fill this order (unknown pair, no liquidity): retrying will not help."""

    retryable = False
    reason = "no_route"


class NoPool(NoRoute):
    """The pair (or this venue) has no pool: its token is not listed yet, or not on this venue."""

    reason = "no_pool"
