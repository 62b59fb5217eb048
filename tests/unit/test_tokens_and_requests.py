from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from order_engine.api.models import ExecuteOrderRequest
from order_engine.domain.orders import REQUEST_FIELDS, parse_order_request
from order_engine.domain.tokens import (TOKENS, WRAPPED_SOL_MINT, lookup, parse_base_units, to_decimal_string,
                                        whole_to_base_units)
from order_engine.errors import InvalidField

SOL, USDC = lookup("SOL"), lookup("USDC")


def parse(body):
    return parse_order_request(body, default_slippage_bps=50, max_slippage_bps=5000)


def test_registry_resolves_symbols_case_insensitively_and_mints():
    assert SOL.mint == WRAPPED_SOL_MINT and SOL.decimals == 9 and SOL.native
    assert lookup("usdc") is USDC and lookup(USDC.mint) is USDC
    assert {t.symbol for t in TOKENS} >= {"SOL", "USDC", "USDT"}


@pytest.mark.parametrize("value,expected", [
    (1, 1_000_000_000), ("1", 1_000_000_000), (1.5, 1_500_000_000), ("0.000000001", 1),
    (0.1, 100_000_000), ("  2.25 ", 2_250_000_000), (Decimal("3"), 3_000_000_000), ("1e-9", 1),
])
def test_whole_amounts_convert_exactly(value, expected):
    assert whole_to_base_units("amount", value, SOL) == expected


@pytest.mark.parametrize("value,rule", [
    (0, "positive"), (-1, "positive"), ("0.0000000001", "decimals"), ("abc", "decimal"), (float("nan"), "finite"),
    ("Infinity", "finite"), (True, "type"), (None, "type"), (100_001, "maximum"),
])
def test_bad_whole_amounts_name_the_rule(value, rule):
    with pytest.raises(InvalidField) as err:
        whole_to_base_units("amount", value, SOL)
    assert err.value.rule == rule and err.value.field == "amount"


@pytest.mark.parametrize("value,rule", [(0, "positive"), ("-5", "positive"), ("1.5", "integer"), (1.5, "integer"),
                                        (True, "integer"), ("١٢", "integer")])
def test_bad_base_units_name_the_rule(value, rule):
    with pytest.raises(InvalidField) as err:
        parse_base_units("amountIn", value, SOL)
    assert err.value.rule == rule


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
