"""Slippage protection and the price an order got."""
from __future__ import annotations

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
