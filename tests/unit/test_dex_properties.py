"""Properties of the pool math that must hold for any sizes (hypothesis)."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from order_engine.dex.model import cpmm, dlmm
from order_engine.dex.model.market_model import PAIRS, VENUES, MarketParams, initial_state, swap_venue

def _rounding(amount_out: int, amount_in: int) -> int:
    """Out per in may only fall, up to rounding: a unit of input (fees round up) and a unit of output."""
    return 1 + -(-amount_out // amount_in)


reserves = st.integers(min_value=10**6, max_value=10**15)
amounts = st.integers(min_value=10_000, max_value=10**13)
PARAMS = dlmm.DlmmParams(bin_step=10, base_factor=8_000, variable_fee_control=300_000, max_volatility_accumulator=100_000,
                         filter_period_s=30, decay_period_s=600, reduction_factor=5_000, bin_liquidity=10**10)


@given(x=reserves, y=reserves, a=amounts, b=amounts)
def test_cpmm_output_grows_with_input_but_the_price_per_unit_falls(x, y, a, b):
    small, large = sorted((a, b))
    out_small, out_large = cpmm.swap(x, y, small).amount_out, cpmm.swap(x, y, large).amount_out
    assert out_small <= out_large
    assert out_large * small <= (out_small + _rounding(out_large, large)) * large


@given(x=reserves, y=reserves, a=amounts)
def test_cpmm_round_trip_never_makes_money(x, y, a):
    there = cpmm.swap(x, y, a)
    back = cpmm.swap(there.reserve_out_after, there.reserve_in_after, there.amount_out)
    assert back.amount_out <= a


@given(x=reserves, y=reserves, trades=st.lists(st.tuples(st.booleans(), amounts), min_size=1, max_size=20))
def test_cpmm_invariant_never_decreases(x, y, trades):
    k = x * y
    for x_in, amount in trades:
        if x_in:
            swap = cpmm.swap(x, y, amount)
            x, y = swap.reserve_in_after, swap.reserve_out_after
        else:
            swap = cpmm.swap(y, x, amount)
            y, x = swap.reserve_in_after, swap.reserve_out_after
        assert x * y >= k
        k = x * y


@given(x=reserves, y=reserves, price=st.floats(min_value=1e-6, max_value=1e6))
def test_cpmm_arbitrage_rebalance_never_decreases_the_invariant(x, y, price):
    base, quote = cpmm.rebalance(x, y, price)
    assert base * quote >= x * y


@given(active=st.integers(-3000, 3000), x_to_y=st.booleans(), a=amounts, b=amounts)
def test_dlmm_output_grows_with_input_but_the_price_per_unit_falls(active, x_to_y, a, b):
    small, large = sorted((a, b))
    pool = dlmm.DlmmPool(active_id=active, index_reference=active)
    out_small = dlmm.swap(pool, PARAMS, small, x_to_y, 0).amount_out
    out_large = dlmm.swap(pool, PARAMS, large, x_to_y, 0).amount_out
    assert out_small <= out_large
    assert out_large * small <= (out_small + _rounding(out_large, large)) * large


@given(active=st.integers(-3000, 3000), x_to_y=st.booleans(), a=amounts, later_s=st.integers(0, 1000))
def test_dlmm_round_trip_never_makes_money(active, x_to_y, a, later_s):
    pool = dlmm.DlmmPool(active_id=active, index_reference=active)
    there = dlmm.swap(pool, PARAMS, a, x_to_y, 0)
    back = dlmm.swap(there.pool, PARAMS, there.amount_out, not x_to_y, later_s)
    assert back.amount_out <= a


@given(pair=st.sampled_from(PAIRS), venue=st.sampled_from(VENUES), sell_base=st.booleans(),
       amount=st.integers(min_value=10**3, max_value=10**12))
def test_a_venue_round_trip_never_makes_money(pair, venue, sell_base, amount):
    market = MarketParams.from_knobs(7, 400, 10.0, 350.0, 1800.0, 2.0)
    state = initial_state(pair, market, 2_000_000, tick=0)
    token_in, token_out = (pair.base, pair.quote) if sell_base else (pair.quote, pair.base)
    there = swap_venue(state, pair, 2_000_000, venue, token_in.mint, amount, 0)
    back = swap_venue(there.state, pair, 2_000_000, venue, token_out.mint, there.amount_out, 0)
    assert back.amount_out <= amount


@settings(max_examples=50)
@given(pair=st.sampled_from(PAIRS), venue=st.sampled_from(VENUES), amount=st.integers(min_value=10**6, max_value=10**12))
def test_a_quote_is_the_swap_without_its_effect(pair, venue, amount):
    market = MarketParams.from_knobs(7, 400, 10.0, 350.0, 1800.0, 2.0)
    state = initial_state(pair, market, 2_000_000, tick=0)
    quote = swap_venue(state, pair, 2_000_000, venue, pair.base.mint, amount, 0, quote_only=True)
    swap = swap_venue(state, pair, 2_000_000, venue, pair.base.mint, amount, 0)
    assert quote.state == state
    assert (quote.amount_out, quote.fee) == (swap.amount_out, swap.fee)
