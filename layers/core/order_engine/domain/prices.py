"""Prices a person writes (a listing's price, a sniper's maxPrice): decimal strings read exactly, as fractions.

The grammar is the amount grammar's (ASCII digits, an optional single `.` and fraction), given as a string so no
JSON number is ever read through a float; a price is above zero and has at most `MAX_PRICE_DECIMALS` decimals.
"""
from __future__ import annotations

import re
from fractions import Fraction

from order_engine.domain.tokens import POSITIVE_WHOLE_AMOUNT_PATTERN
from order_engine.errors import InvalidField

MAX_PRICE_DECIMALS = 18
MAX_PRICE_CHARS = 40
# the OpenAPI pattern of a price: the positive amount grammar (its decimals rule depends on nothing else, but
# the document states decimals limits in words, as it does for amounts)
POSITIVE_PRICE_PATTERN = POSITIVE_WHOLE_AMOUNT_PATTERN
_DECIMAL = re.compile(r"([0-9]+)(?:\.([0-9]+))?")


def parse_price(field: str, value: object, unit: str) -> Fraction:
    """A positive decimal string to an exact Fraction, or InvalidField naming the field and the rule."""
    if not isinstance(value, str):
        raise InvalidField(field, "type", f"{field} must be a decimal string of {unit}, e.g. \"0.25\".")
    if len(value) > MAX_PRICE_CHARS:
        raise InvalidField(field, "length", f"{field} is longer than {MAX_PRICE_CHARS} characters.")
    match = _DECIMAL.fullmatch(value)
    if match is None:
        if value[:1] == "-" and _DECIMAL.fullmatch(value[1:]):
            raise InvalidField(field, "positive", f"{field} must be greater than zero.")
        raise InvalidField(field, "decimal", f"{field} {value!r} is not a price: write digits with an optional "
                                             "fraction, e.g. \"0.25\" (no sign, exponent, separators or spaces).")
    whole, fraction = match[1], (match[2] or "").rstrip("0")
    if len(fraction) > MAX_PRICE_DECIMALS:
        raise InvalidField(field, "decimals", f"{field} has more than {MAX_PRICE_DECIMALS} decimal places.")
    price = Fraction(int(whole + fraction), 10 ** len(fraction))
    if price <= 0:
        raise InvalidField(field, "positive", f"{field} must be greater than zero.")
    return price


def price_text(price: Fraction) -> str:
    """A price parsed by `parse_price` back to its shortest decimal string."""
    whole, rest = divmod(price.numerator, price.denominator)
    if not rest:
        return str(whole)
    digits = str(rest * 10**MAX_PRICE_DECIMALS // price.denominator).rjust(MAX_PRICE_DECIMALS, "0").rstrip("0")
    return f"{whole}.{digits}"
