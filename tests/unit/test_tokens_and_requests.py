import re
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, strategies as st

from order_engine.api.models import ExecuteOrderRequest
from order_engine.domain.order import REQUEST_FIELDS, parse_order_request
from order_engine.domain.tokens import (POSITIVE_BASE_UNITS_PATTERN, POSITIVE_WHOLE_AMOUNT_PATTERN, TOKENS,
                                        WRAPPED_SOL_MINT, Numeral, lookup, parse_base_units, resolve_token,
                                        to_decimal_string, whole_to_base_units)
from order_engine.errors import InvalidField

SOL, USDC = lookup("SOL"), lookup("USDC")


def parse(body):
    return parse_order_request(body, default_slippage_bps=50, max_slippage_bps=5000)


def test_registry_resolves_symbols_case_insensitively_and_mints():
    assert SOL.mint == WRAPPED_SOL_MINT and SOL.decimals == 9 and SOL.native
    assert lookup("usdc") is USDC and lookup(USDC.mint) is USDC
    assert {t.symbol for t in TOKENS} >= {"SOL", "USDC", "USDT"}


@pytest.mark.parametrize("value,expected", [
    (1, 1_000_000_000), ("1", 1_000_000_000), (Numeral("1.5"), 1_500_000_000), ("0.000000001", 1),
    (0.1, 100_000_000), ("2.25", 2_250_000_000), (Decimal("3"), 3_000_000_000), ("007.50", 7_500_000_000),
    ("1.0000000000000", 1_000_000_000), ("0" * 63 + "1", 1_000_000_000),
])
def test_whole_amounts_convert_exactly(value, expected):
    assert whole_to_base_units("amount", value, SOL) == expected


@pytest.mark.parametrize("value,rule", [
    (0, "positive"), (-1, "positive"), ("-0.5", "positive"), (Numeral("-1.5"), "positive"), ("0.0", "positive"),
    ("0.0000000001", "decimals"), (Numeral("0.30000000000000001"), "decimals"), ("abc", "decimal"),
    (float("nan"), "type"), ("Infinity", "decimal"), ("NaN", "decimal"), (True, "type"), (None, "type"),
    (100_001, "maximum"), ("1" * 60, "maximum"), ("1" * 65, "length"), (Numeral("1" * 200), "maximum"), (Numeral("0." + "0" * 400 + "5"), "decimals"),
    # what Python's Decimal/int/float accept and this grammar does not
    ("١٢", "decimal"), ("１２", "decimal"), ("1_000", "decimal"), ("1e3", "decimal"), (Numeral("1e3"), "decimal"),
    ("1E-9", "decimal"), (Numeral("1E-9"), "decimal"), ("+1", "decimal"), (".5", "decimal"), ("5.", "decimal"),
    ("\u00a01", "decimal"), ("1\u00a0", "decimal"), (" 1", "decimal"), ("1\n", "decimal"), ("1,5", "decimal"),
    ("1.2.3", "decimal"), ("0x10", "decimal"), ("", "decimal"), ("9" * 20 + "e999999999", "decimal"),
])
def test_bad_whole_amounts_name_the_rule(value, rule):
    with pytest.raises(InvalidField) as err:
        whole_to_base_units("amount", value, SOL)
    assert err.value.rule == rule and err.value.field == "amount"


@pytest.mark.parametrize("value,rule", [
    (0, "positive"), ("-5", "positive"), ("1.5", "integer"), (1.5, "integer"), (Numeral("1.5"), "integer"),
    (Numeral("1e3"), "integer"), (True, "integer"), ("١٢", "integer"), ("１", "integer"), ("1_000", "integer"),
    ("+1", "integer"), (" 1", "integer"), ("1e3", "integer"), ("9" * 64, "maximum"), ("9" * 65, "length"),
    (10 ** 400, "maximum"),
])
def test_bad_base_units_name_the_rule(value, rule):
    with pytest.raises(InvalidField) as err:
        parse_base_units("amountIn", value, SOL)
    assert err.value.rule == rule


def test_only_ascii_symbols_and_exact_mints_are_tokens():
    assert resolve_token("tokenIn", "sol") is SOL and resolve_token("tokenIn", USDC.mint) is USDC
    for bad in ["\u017fol", " SOL", "SOL ", "S\u00d8L", USDC.mint.lower(), "x" * 10_000]:
        with pytest.raises(InvalidField) as err:
            resolve_token("tokenIn", bad)
        assert err.value.field == "tokenIn"


# Properties of the grammar: against a reference written from its definition, over ASCII-ish and any text.
_AMOUNT_ALPHABET = st.sampled_from("0123456789.-+eE_ ,\u00a0\u0661\uff11x")
amount_texts = st.one_of(st.text(_AMOUNT_ALPHABET, max_size=24), st.text(max_size=12),
                         st.from_regex(r"\A[0-9]{1,8}(\.[0-9]{1,12})?\Z"))


def _reference_whole(text: str, token) -> int | None:
    """The definition: ASCII digits, optionally one '.' and more ASCII digits; exact; > 0; <= decimals; <= max."""
    whole, dot, fraction = text.partition(".")
    ascii_digits = set("0123456789")
    if not whole or not set(whole) <= ascii_digits or (dot and (not fraction or not set(fraction) <= ascii_digits)):
        return None
    if len(fraction.rstrip("0")) > token.decimals:
        return None
    base = int(whole) * token.scale + int((fraction.rstrip("0") or "0").ljust(token.decimals, "0"))
    return base if 0 < base <= token.max_base_units else None


@given(amount_texts, st.sampled_from([SOL, USDC]), st.booleans())
def test_a_whole_amount_is_accepted_exactly_when_the_definition_says_so(text, token, as_number):
    value = Numeral(text) if as_number else text
    try:
        got = whole_to_base_units("amount", value, token)
    except InvalidField as err:
        assert err.field == "amount" and err.rule in {"decimal", "positive", "decimals", "maximum", "length"}
        got = None
    assert got == (_reference_whole(text, token) if len(text) <= 64 or as_number else None)


@given(amount_texts)
def test_a_base_unit_amount_is_accepted_exactly_when_it_is_ascii_digits_in_range(text):
    try:
        got = parse_base_units("amountIn", text, SOL)
    except InvalidField:
        got = None
    expected = int(text) if text and set(text) <= set("0123456789") and len(text) <= 64 else None
    assert got == (expected if expected and expected <= SOL.max_base_units else None)


@given(amount_texts)
def test_the_documented_patterns_are_the_grammar_without_zero(text):
    """The OpenAPI document states the grammar with these patterns: they must accept what the domain accepts."""
    grammar = _reference_whole_grammar(text)
    assert bool(re.fullmatch(POSITIVE_WHOLE_AMOUNT_PATTERN, text)) == (grammar is not None and grammar > 0)
    digits = bool(text) and set(text) <= set("0123456789")
    assert bool(re.fullmatch(POSITIVE_BASE_UNITS_PATTERN, text)) == (digits and int(text) > 0)


def _reference_whole_grammar(text: str):
    whole, dot, fraction = text.partition(".")
    ascii_digits = set("0123456789")
    if not whole or not set(whole) <= ascii_digits or (dot and (not fraction or not set(fraction) <= ascii_digits)):
        return None
    return Fraction(int(whole)) + (Fraction(int(fraction), 10 ** len(fraction)) if fraction else 0)


@given(st.integers(min_value=1, max_value=10 ** 14), st.integers(min_value=0, max_value=12))
def test_any_plain_decimal_converts_exactly_or_names_why_not(units, places):
    text = f"{units // 10 ** places}.{str(units % 10 ** places).rjust(places, '0')}" if places else str(units)
    exact = Fraction(units, 10 ** places) * SOL.scale
    try:
        assert whole_to_base_units("amount", text, SOL) == exact
    except InvalidField as err:
        assert (err.rule == "decimals" and exact.denominator != 1) or (err.rule == "maximum" and exact > SOL.max_base_units)


@given(st.integers(min_value=1, max_value=SOL.max_base_units))
def test_base_units_round_trip_through_the_decimal_string(base_units):
    assert whole_to_base_units("amount", to_decimal_string(base_units, SOL), SOL) == base_units


def test_both_seed_shapes_make_the_same_request():
    a = parse({"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1})
    b = parse({"inputMint": "SOL", "outputMint": USDC.mint, "amountIn": "1000000000"})
    assert a == b and a.fingerprint() == b.fingerprint() and a.slippage_bps == 50


def test_a_different_amount_is_a_different_fingerprint():
    assert parse({"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1}).fingerprint() != \
        parse({"tokenIn": "SOL", "tokenOut": "USDC", "amount": 2}).fingerprint()


def test_the_request_model_accepts_exactly_the_fields_the_domain_reads():
    wire_names = [field.alias for field in ExecuteOrderRequest.model_fields.values()]
    assert sorted(wire_names) == sorted(REQUEST_FIELDS)
    body = {"inputMint": "SOL", "outputMint": "USDC", "amountIn": "1000", "slippageBps": 10, "type": "market",
            "clientOrderId": "c-1"}
    assert ExecuteOrderRequest.model_validate(body).model_dump(exclude_none=True, by_alias=True) == body
