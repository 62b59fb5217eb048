"""The token registry (the one place that knows mints and decimals) and exact amount conversion.

Amounts are integers in base units everywhere inside the engine; a whole-token amount a person typed is converted
from its text by integer arithmetic (no float, no Decimal context to overflow), and strings appear only at the edges.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import NoReturn

from order_engine.errors import InvalidField

WRAPPED_SOL_MINT = "So11111111111111111111111111111111111111112"
_BASE58 = set("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")

# The amount grammar. `[0-9]` (never `\d`, which matches every script's digits); the patterns with "POSITIVE"
# are the same grammar without zero, as the OpenAPI document states it (a JSON Schema pattern has no arithmetic).
_WHOLE = re.compile(r"([0-9]+)(?:\.([0-9]+))?")
_DIGITS = re.compile(r"[0-9]+")
POSITIVE_WHOLE_AMOUNT_PATTERN = r"^(?:0*[1-9][0-9]*(?:\.[0-9]+)?|0+\.0*[1-9][0-9]*)$"
POSITIVE_BASE_UNITS_PATTERN = r"^0*[1-9][0-9]*$"
MAX_AMOUNT_CHARS = 64  # an amount given as text; far more than any accepted value needs
MAX_TOKEN_CHARS = 64


@dataclass(frozen=True)
class Numeral:
    """A number as the client wrote it (a JSON number with a fraction or exponent), kept as text so that no float
    ever rounds an amount; the amount grammar decides what it means."""

    text: str


@dataclass(frozen=True)
class Token:
    symbol: str
    mint: str
    decimals: int
    max_amount: int  # whole tokens; a single order above it is refused
    native: bool = False  # SOL: wrapped into wSOL for the swap, unwrapped after
    listable: bool = False  # a new token: it has no pool until an operator lists one (dex/ listing events)

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
    # Tokens of the simulated market that do not trade until listed (their mints: sha256 of "simulated listing
    # <symbol>" in base58, so they are well-formed and belong to no real token).
    Token("NOVA", "8SwWUNQ67MSutdBsZksycK55LBUvvsCKb2WuRUA8E8mx", 6, max_amount=1_000_000_000_000, listable=True),
    Token("ORBIT", "UMJKZYQLVYyG4CCiMHvUwiesMNv69mNrcfwb99DG2KW", 9, max_amount=1_000_000_000, listable=True),
    Token("PULSE", "48k5Nr4R61isr9KCng7tp341sn1bTXHDv1nBzRBeaYkE", 6, max_amount=1_000_000_000_000, listable=True),
)
LISTABLE: tuple[Token, ...] = tuple(t for t in TOKENS if t.listable)
_BY_SYMBOL = {t.symbol: t for t in TOKENS}
_BY_MINT = {t.mint: t for t in TOKENS}


def lookup(symbol_or_mint: str) -> Token | None:
    """A token by its symbol (any case, ASCII only: `"ſol".upper()` is "SOL" in Python) or its exact mint."""
    if not symbol_or_mint.isascii():
        return None
    return _BY_SYMBOL.get(symbol_or_mint.upper()) or _BY_MINT.get(symbol_or_mint)


def by_mint(mint: str) -> Token:
    return _BY_MINT[mint]


def token_pattern(tokens: tuple[Token, ...] = TOKENS) -> str:
    """The tokens `resolve_token` accepts (of `tokens`), as a JSON Schema pattern (symbols in any case, mints exactly)."""
    symbols = ["".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in t.symbol) for t in tokens]
    return "^(?:" + "|".join([*symbols, *(t.mint for t in tokens)]) + ")$"


def resolve_token(field: str, value: object) -> Token:
    if not isinstance(value, str) or not value:
        raise InvalidField(field, "token", f"{field} must be a token symbol (e.g. SOL) or a mint address.")
    token = lookup(value) if len(value) <= MAX_TOKEN_CHARS else None
    if token is not None:
        return token
    if 32 <= len(value) <= 44 and set(value) <= _BASE58:
        raise InvalidField(field, "unsupported_token", f"{field} {value} is a mint this engine does not trade; supported: {supported()}.")
    raise InvalidField(field, "unknown_token", f"{field} {value[:64]!r} is not a known token; supported: {supported()}.")


def supported() -> str:
    return ", ".join(t.symbol for t in TOKENS)


def whole_to_base_units(field: str, value: object, token: Token) -> int:
    """A whole-token amount to base units, exactly, or InvalidField. The grammar: ASCII digits with an optional
    single `.` and fraction, as a JSON integer, a `Numeral` (a JSON number as written) or a string; Python's
    wider number syntax (exponents, signs, `_`, other scripts' digits, spaces) is refused."""
    if isinstance(value, bool):
        raise InvalidField(field, "type", f"{field} must be a number or a decimal string, e.g. 1.5 or \"1.5\".")
    if isinstance(value, int):
        return _check_range(field, value * token.scale, token)
    text = _amount_text(field, value, "a number or a decimal string, e.g. 1.5 or \"1.5\"")
    match = _WHOLE.fullmatch(text)
    if match is None:
        _refuse_grammar(field, text, "decimal", "digits with an optional fraction, e.g. 1.5")
    whole, fraction = match[1].lstrip("0"), (match[2] or "").rstrip("0")
    if len(fraction) > token.decimals:
        raise InvalidField(field, "decimals", f"{field} has more than {token.decimals} decimal places, the most {token.symbol} allows.")
    if len(whole) > len(str(token.max_amount)):  # bounds the int() below by the registry, not by the input
        return _check_range(field, token.max_base_units + 1, token)
    return _check_range(field, int(whole or "0") * token.scale + int(fraction.ljust(token.decimals, "0") or "0"), token)


def parse_base_units(field: str, value: object, token: Token) -> int:
    """A base-unit amount to an int, or InvalidField: a JSON integer or a string of ASCII digits only."""
    if isinstance(value, bool):
        raise InvalidField(field, "integer", f"{field} must be an integer number of base units.")
    if isinstance(value, int):
        return _check_range(field, value, token)
    if isinstance(value, Numeral):
        raise InvalidField(field, "integer", f"{field} must be an integer number of base units, without a fraction or exponent.")
    text = _amount_text(field, value, "an integer number of base units (an integer or a string of digits)")
    if _DIGITS.fullmatch(text) is None:
        _refuse_grammar(field, text, "integer", "ASCII digits only, e.g. 1000000")
    digits = text.lstrip("0")
    if len(digits) > len(str(token.max_base_units)):
        return _check_range(field, token.max_base_units + 1, token)
    return _check_range(field, int(digits or "0"), token)


def _amount_text(field: str, value: object, wanted: str) -> str:
    """The text of an amount given as a Numeral or a string (a string bounded in length before any parsing)."""
    if isinstance(value, Numeral):  # not length-bounded: the body is (16 KiB), and each step below is linear
        return value.text
    if isinstance(value, str):
        text = value
    elif isinstance(value, float) and math.isfinite(value):  # a caller in Python; the API never hands floats
        text = repr(value)
    elif isinstance(value, Decimal) and value.is_finite():
        text = str(value)
    else:
        raise InvalidField(field, "type", f"{field} must be {wanted}.")
    if len(text) > MAX_AMOUNT_CHARS:
        raise InvalidField(field, "length", f"{field} is longer than {MAX_AMOUNT_CHARS} characters.")
    return text


def _refuse_grammar(field: str, text: str, rule: str, form: str) -> NoReturn:
    if text[:1] == "-" and _WHOLE.fullmatch(text[1:]):
        raise InvalidField(field, "positive", f"{field} must be greater than zero.")
    raise InvalidField(field, rule, f"{field} {text[:40]!r} is not an amount: write {form} (no sign, exponent, "
                                    "separators, spaces or non-ASCII digits).")


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
