"""Dynamic slippage: the rule that picks the tolerance, and the request rules for dynamicSlippage and quoteId."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from order_engine.domain.order import parse_order_request
from order_engine.domain.quotes import QuoteTerms
from order_engine.domain.slippage import SlippageBounds, dynamic_slippage_bps
from order_engine.domain.swaps import Quote, Route, RouteLeg
from order_engine.domain.tokens import lookup
from order_engine.errors import InvalidField

MAX = 5000
ORDER = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": "1"}


def parse(body):
    return parse_order_request(body, default_slippage_bps=50, max_slippage_bps=MAX)


@given(low=st.integers(0, MAX), span=st.integers(0, MAX), volatility=st.integers(-10, 100_000),
       impact=st.integers(-10, 100_000))
def test_the_picked_tolerance_is_always_within_the_bounds(low, span, volatility, impact):
    bounds = SlippageBounds(low, min(MAX, low + span))
    assert bounds.min_bps <= dynamic_slippage_bps(bounds, volatility, impact) <= bounds.max_bps


@given(volatility=st.integers(0, 2_000), impact=st.integers(0, 2_000), more=st.integers(1, 500))
def test_a_more_volatile_pool_or_a_larger_impact_never_gets_less_tolerance(volatility, impact, more):
    bounds = SlippageBounds(0, 10**6)  # wide enough that no value here reaches the cap
    base = dynamic_slippage_bps(bounds, volatility, impact)
    assert dynamic_slippage_bps(bounds, volatility + more, impact) > base
    assert dynamic_slippage_bps(bounds, volatility, impact + 2 * more) > base


def test_a_calm_pool_and_a_small_order_get_the_low_end_and_a_wild_one_is_capped():
    bounds = SlippageBounds(30, 300)
    assert dynamic_slippage_bps(bounds, 0, 0) == 30
    assert dynamic_slippage_bps(bounds, 10_000, 0) == 300


def test_a_dynamic_order_starts_at_its_maximum_and_keeps_its_bounds():
    request = parse({**ORDER, "dynamicSlippage": {"minBps": 10, "maxBps": 250}})
    assert request.dynamic_slippage == SlippageBounds(10, 250) and request.slippage_bps == 250
    assert request.fingerprint() != parse({**ORDER, "slippageBps": 250}).fingerprint()


@pytest.mark.parametrize("extra, field, rule", [
    ({"dynamicSlippage": {"minBps": 60, "maxBps": 50}}, "dynamicSlippage", "min_not_above_max"),
    ({"dynamicSlippage": {"minBps": -1, "maxBps": 50}}, "dynamicSlippage.minBps", "range"),
    ({"dynamicSlippage": {"minBps": 1, "maxBps": MAX + 1}}, "dynamicSlippage.maxBps", "range"),
    ({"dynamicSlippage": {"minBps": 1}}, "dynamicSlippage.maxBps", "required"),
    ({"dynamicSlippage": {"minBps": "1", "maxBps": 5}}, "dynamicSlippage.minBps", "integer"),
    ({"dynamicSlippage": {"minBps": True, "maxBps": 5}}, "dynamicSlippage.minBps", "integer"),
    ({"dynamicSlippage": {"minBps": 1, "maxBps": 5, "extra": 1}}, "dynamicSlippage.extra", "extra_forbidden"),
    ({"dynamicSlippage": [1, 5]}, "dynamicSlippage", "object"),
    ({"dynamicSlippage": {"minBps": 1, "maxBps": 5}, "slippageBps": 50}, "dynamicSlippage", "one_slippage"),
    ({"dynamicSlippage": {"minBps": 1, "maxBps": 5}, "quoteId": "q_" + "a" * 32}, "dynamicSlippage", "not_with_quote"),
    ({"quoteId": "q_" + "A" * 32}, "quoteId", "format"),
    ({"quoteId": 7}, "quoteId", "format"),
])
def test_bad_dynamic_slippage_and_quote_ids_name_the_field_and_rule(extra, field, rule):
    with pytest.raises(InvalidField) as refused:
        parse({**ORDER, **extra})
    assert (refused.value.field, refused.value.rule) == (field, rule)


def test_a_quote_executes_exactly_the_route_it_showed():
    sol, usdc = lookup("SOL").mint, lookup("USDC").mint
    route = Route(sol, usdc, 10**9, (RouteLeg("raydium", 6 * 10**8, 90_000_000, 4), RouteLeg("meteora", 4 * 10**8, 61_000_000, 2)),
                  (Quote("raydium", 10**9, 149_000_000, 2_500_000, 7, 3), Quote("meteora", 10**9, 150_000_000, 1_000_000, 5, 9)),
                  "splitting pays", (("other", "down"),))
    terms = QuoteTerms.for_route("q_" + "b" * 32, route, 80, now_ms=1_000, ttl_ms=10_000)
    again = QuoteTerms.from_record(terms.to_record())
    assert again == terms and again.executable_route() == route
    assert terms.min_amount_out == 151_000_000 * (10_000 - 80) // 10_000 and terms.expires_at_ms == 11_000
    assert route.volatility_bps == 9 and route.price_impact_bps == 4
