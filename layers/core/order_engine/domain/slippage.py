"""Slippage protection and the price an order got."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

from order_engine.domain.tokens import Token

BPS = 10_000


def min_amount_out(quoted_out: int, slippage_bps: int) -> int:
    """The least output the transaction accepts: the quote less `slippage_bps`, rounded down."""
    return quoted_out * (BPS - slippage_bps) // BPS


def executed_price(amount_in: int, amount_out: int, token_in: Token, token_out: Token) -> str:
    """Output per input in whole tokens, as a decimal string (12 significant digits)."""
    with localcontext() as ctx:
        ctx.prec = 12
        price = (Decimal(amount_out) * token_in.scale) / (Decimal(amount_in) * token_out.scale)
    return format(price.normalize(), "f")


@dataclass(frozen=True)
class SlippageBounds:
    """An order's dynamic slippage (`dynamicSlippage {minBps, maxBps}`): the engine picks the tolerance."""

    min_bps: int
    max_bps: int

    def to_api(self) -> dict[str, int]:
        return {"minBps": self.min_bps, "maxBps": self.max_bps}


# The tolerance the engine picks, before the bounds: twice the pool's recent volatility (a two-sigma move before
# the swap lands), plus half the order's own price impact (the larger an order is against the pool, the more the
# trades landing ahead of it in the slot move its price), plus a floor for the flow already in flight, which no
# pool state shows yet (other orders quoted on the same pool and landing first).
VOLATILITY_MULTIPLE = 2
IMPACT_SHARE_PCT = 50
IN_FLIGHT_FLOOR_BPS = 20


def dynamic_slippage_bps(bounds: SlippageBounds, volatility_bps: int, price_impact_bps: int) -> int:
    wanted = (IN_FLIGHT_FLOOR_BPS + VOLATILITY_MULTIPLE * max(0, volatility_bps)
              + max(0, price_impact_bps) * IMPACT_SHARE_PCT // 100)
    return max(bounds.min_bps, min(bounds.max_bps, wanted))
