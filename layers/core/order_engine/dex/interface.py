"""The contract between the executor and the venues + chain it trades on.

The executor only ever calls a `Dex`: route (quote every venue, choose), build, submit, confirm, and ask a
signature's status when recovering. Amounts are integers in base units. Errors are `DexError`s whose
`retryable` flag tells the executor whether a fresh attempt (with fresh quotes) may succeed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


@dataclass(frozen=True)
class Quote:
    venue: str  # "raydium" | "meteora"
    amount_in: int
    amount_out: int  # after fees and price impact
    fee: int  # in input base units
    price_impact_bps: int


@dataclass(frozen=True)
class RouteLeg:
    venue: str
    amount_in: int
    amount_out: int  # as quoted


@dataclass(frozen=True)
class Route:
    input_mint: str
    output_mint: str
    amount_in: int
    legs: tuple[RouteLeg, ...]  # one leg, or two when splitting across venues pays
    quotes: tuple[Quote, ...]  # every venue's quote for the whole amount (failed venues absent)
    reason: str  # a sentence: why this route

    @property
    def amount_out(self) -> int:
        return sum(leg.amount_out for leg in self.legs)

    @property
    def dex(self) -> str:
        """The venue name recorded on the order ('raydium', 'meteora', or 'raydium+meteora' for a split)."""
        return "+".join(leg.venue for leg in self.legs)

    def to_detail(self) -> dict[str, Any]: ...  # JSON-ready routing event detail; implemented by dex


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


class NoRoute(DexError):
    """No venue can fill this order (unknown pair, no liquidity): retrying will not help."""

    retryable = False
    reason = "no_route"


class Dex(Protocol):
    async def route(self, input_mint: str, output_mint: str, amount_in: int) -> Route: ...

    async def build(self, order_id: str, route: Route, slippage_bps: int) -> BuiltSwap: ...

    async def submit(self, built: BuiltSwap) -> str:
        """Send the transaction; returns its signature (base58, 87-88 chars). Record it before confirming."""

    async def confirm(self, signature: str) -> SwapResult:
        """Wait for commitment `confirmed`; a swap that landed but failed (slippage) raises SlippageExceeded."""

    async def signature_status(self, signature: str) -> SwapResult: ...
