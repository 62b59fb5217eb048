"""The JSON parser for request bodies and WebSocket frames: `json.loads` made strict where a money API must not
guess, and bounded so that no input costs more than a few milliseconds to refuse.

- nesting deeper than MAX_DEPTH is refused before parsing (the C parser recurses once per level);
- NaN and Infinity (which JSON does not have) are refused, and so are duplicate keys (which one was meant?);
- a number with a fraction or exponent stays the text the client wrote (`Numeral`), never a float; an integer
  of more than MAX_INTEGER_DIGITS digits is refused without converting it;
- a NUL character, or text that is not UTF-8 (a lone surrogate), anywhere in a key or string value is refused.
Every refusal is an EngineError naming the field when there is one.
"""
from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from order_engine.domain.tokens import Numeral
from order_engine.errors import EngineError, ErrorCode, InvalidField

MAX_DEPTH = 16
MAX_INTEGER_DIGITS = 100  # the largest accepted integer has 15 digits

_ESCAPED = re.compile(r"\\.", re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class _LongInteger:
    __slots__ = ("digits",)

    def __init__(self, text: str):
        self.digits = len(text.lstrip("-"))


def invalid_json(what: str, detail: str, rule: str = "json") -> EngineError:
    message = f"The {what} is not valid JSON: {detail}."
    return EngineError(message, [{"field": "body", "rule": rule, "message": message}], code=ErrorCode.INVALID_JSON)


def not_utf8(what: str) -> EngineError:
    message = f"The {what} is not UTF-8 text."
    return EngineError(message, [{"field": "body", "rule": "utf8", "message": message}], code=ErrorCode.INVALID_JSON)


def is_utf8(text: str) -> bool:
    """False for a str holding lone surrogates (bytes that were not UTF-8, or a `\\ud800` escape)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def loads(text: str | bytes, what: str = "request body") -> Any:
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise not_utf8(what) from None
    if not is_utf8(text):
        raise not_utf8(what)
    if _depth(text) > MAX_DEPTH:
        raise invalid_json(what, f"it is nested deeper than {MAX_DEPTH} levels", rule="max_depth")
    try:
        return json.loads(text, object_pairs_hook=_object, parse_float=Numeral, parse_int=_integer,
                          parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise invalid_json(what, f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except _Refused as refused:
        raise refused.error from None


def _depth(text: str) -> int:
    """The deepest nesting of arrays and objects outside strings, at C speed (no Python loop over characters)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0
    outside_strings = "".join(_ESCAPED.sub("", text).split('"')[::2])
    brackets = _NOT_BRACKET.sub("", outside_strings)
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)


class _Refused(Exception):
    """Carries an EngineError out of the parser's hooks (which must not let json wrap it)."""

    def __init__(self, error: EngineError):
        super().__init__(error.message)
        self.error = error


def _integer(text: str) -> int | _LongInteger:
    return _LongInteger(text) if len(text) > MAX_INTEGER_DIGITS else int(text)


def _constant(name: str) -> Any:
    raise _Refused(invalid_json("request body", f"{name} is not a JSON value; send a number"))


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Refused(InvalidField(key[:64], "unique_keys",
                                        f"{key[:64]} appears more than once; send each field once."))
        if "\x00" in key or (isinstance(value, str) and "\x00" in value):
            raise _Refused(InvalidField(key[:64], "no_nul", f"{key[:64]!r} contains a NUL character."))
        if not is_utf8(key) or (isinstance(value, str) and not is_utf8(value)):
            raise _Refused(InvalidField(key[:64].encode("utf-8", "replace").decode(), "utf8",
                                        "A field holds an unpaired surrogate escape, which is not UTF-8 text."))
        if isinstance(value, _LongInteger):
            raise _Refused(InvalidField(key[:64], "maximum",
                                        f"{key[:64]} is a {value.digits}-digit number, above any value this API accepts."))
        result[key] = value
    return result
