"""The token registry (the one place that knows mints and decimals) and exact amount conversion.

Amounts are integers in base units everywhere inside the engine; `Decimal` appears only while converting a
whole-token amount a person typed, and strings only at the edges.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from order_engine.errors import InvalidField

WRAPPED_SOL_MINT = "So11111111111111111111111111111111111111112"
_INTEGER = re.compile(r"-?[0-9]{1,40}")
_BASE58 = set("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")


@dataclass(frozen=True)
class Token:
    symbol: str
    mint: str
    decimals: int
    max_amount: int  # whole tokens; a single order above it is refused
    native: bool = False  # SOL: wrapped into wSOL for the swap, unwrapped after

    @property
    def scale(self) -> int:
        return 10**self.decimals

    @property
    def max_base_units(self) -> int:
        return self.max_amount * self.scale


TOKENS: tuple[Token, ...] = (
    Token("SOL", WRAPPED_SOL_MINT, 9, max_amount=100_000, native=True),
    Token("USDC", "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", 6, max_amount=10_000_000),
    Token("USDT", "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB", 6, max_amount=10_000_000),
)
_BY_SYMBOL = {t.symbol: t for t in TOKENS}
_BY_MINT = {t.mint: t for t in TOKENS}


def lookup(symbol_or_mint: str) -> Token | None:
    return _BY_SYMBOL.get(symbol_or_mint.upper()) or _BY_MINT.get(symbol_or_mint)


def by_mint(mint: str) -> Token:
    return _BY_MINT[mint]


def resolve_token(field: str, value: object) -> Token:
    if not isinstance(value, str) or not value.strip():
        raise InvalidField(field, "token", f"{field} must be a token symbol (e.g. SOL) or a mint address.")
    value = value.strip()
    token = lookup(value)
    if token is not None:
        return token
    if 32 <= len(value) <= 44 and set(value) <= _BASE58:
        raise InvalidField(field, "unsupported_token", f"{field} {value} is a mint this engine does not trade; supported: {supported()}.")
    raise InvalidField(field, "unknown_token", f"{field} {value[:64]!r} is not a known token; supported: {supported()}.")


def supported() -> str:
    return ", ".join(t.symbol for t in TOKENS)


def whole_to_base_units(field: str, value: object, token: Token) -> int:
    """A whole-token amount (JSON number or decimal string) to base units, exactly, or InvalidField."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise InvalidField(field, "type", f"{field} must be a number or a decimal string, e.g. 1.5 or \"1.5\".")
    text = repr(value) if isinstance(value, float) else str(value).strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InvalidField(field, "decimal", f"{field} {text[:40]!r} is not a decimal number.") from None
    if not amount.is_finite():
        raise InvalidField(field, "finite", f"{field} must be a finite number.")
    base = amount.scaleb(token.decimals)
    if base != base.to_integral_value():
        raise InvalidField(field, "decimals", f"{field} has more than {token.decimals} decimal places, the most {token.symbol} allows.")
    return _check_range(field, int(base), token)


def parse_base_units(field: str, value: object, token: Token) -> int:
    """A base-unit amount (JSON integer or digit string) to an int, or InvalidField."""
    if isinstance(value, bool):
        raise InvalidField(field, "integer", f"{field} must be an integer number of base units.")
    if isinstance(value, int):
        return _check_range(field, value, token)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return _check_range(field, int(value.strip()), token)
    raise InvalidField(field, "integer", f"{field} must be an integer number of base units (an integer or a string of digits).")


def _check_range(field: str, base_units: int, token: Token) -> int:
    if base_units <= 0:
        raise InvalidField(field, "positive", f"{field} must be greater than zero.")
    if base_units > token.max_base_units:
        raise InvalidField(field, "maximum", f"{field} is above the maximum of {token.max_amount} {token.symbol} for one order.")
    return base_units


def to_decimal_string(base_units: int, token: Token) -> str:
    """Base units to a whole-token decimal string with no float in between (e.g. 1500000000 SOL -> "1.5")."""
    whole, frac = divmod(abs(base_units), token.scale)
    sign = "-" if base_units < 0 else ""
    if not frac:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{str(frac).rjust(token.decimals, '0').rstrip('0')}"
