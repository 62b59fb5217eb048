"""The pool math, pinned against values worked out by hand (the derivations are in the comments)."""
from __future__ import annotations

from order_engine.dex.model import cpmm, dlmm, transaction
from order_engine.domain import routing, slippage
from order_engine.dex.model.base58 import b58encode
from order_engine.domain.tokens import lookup

# A DLMM pool whose active bin 0 has price exactly 1 and whose default bin holds 1,000,000 Y worth.
# base fee = base_factor * bin_step * 10 = 10,000 * 10 * 10 = 1,000,000 / 10^9 = 0.1%
FLAT = dlmm.DlmmParams(bin_step=10, base_factor=10_000, variable_fee_control=0, max_volatility_accumulator=100_000,
                       filter_period_s=30, decay_period_s=600, reduction_factor=5_000, bin_liquidity=1_000_000)
VOLATILE = dlmm.DlmmParams(bin_step=10, base_factor=10_000, variable_fee_control=300_000, max_volatility_accumulator=100_000,
                           filter_period_s=30, decay_period_s=600, reduction_factor=5_000, bin_liquidity=1_000_000)


def test_cpmm_takes_the_fee_from_the_input_and_rounds_the_output_for_the_pool():
    # fee = ceil(10,000 * 2,500 / 1,000,000) = 25; in after fee = 9,975
    # out = 1,000,000 - ceil(10^12 / 1,009,975) = 1,000,000 - ceil(990,123.48) = 9,876
    swap = cpmm.swap(1_000_000, 1_000_000, 10_000)
    assert (swap.fee, swap.amount_out) == (25, 9_876)
    assert (swap.reserve_in_after, swap.reserve_out_after) == (1_010_000, 990_124)
    # spot would give 9,975 after the fee; 99 short is 99 * 10,000 / 9,975 = 99 bps of impact
    assert swap.price_impact_bps == 99


def test_cpmm_fee_rounds_up_so_a_dust_trade_gets_nothing():
    assert cpmm.trade_fee(1) == 1
    assert cpmm.swap(1_000_000, 1_000_000, 1).amount_out == 0


def test_cpmm_rebalance_moves_the_price_and_keeps_the_invariant():
    base, quote = cpmm.rebalance(1_000_000, 1_000_000, 4.0)  # k = 10^12: base = sqrt(k/4) = 500,000
    assert base == 500_000 and quote == 2_000_000


def test_dlmm_swap_inside_the_active_bin_pays_the_base_fee_at_the_bin_price():
    # active bin 0 holds (500,000 X, 500,000 Y) at price 1; fee = ceil(100,000 * 0.1%) = 100
    swap = dlmm.swap(dlmm.DlmmPool(active_id=0), FLAT, 100_000, x_to_y=True, now_s=0)
    assert (swap.amount_out, swap.fee, swap.bins_crossed) == (99_900, 100, 0)
    assert swap.pool.bins[0] == (599_900, 400_100)


def test_dlmm_swap_consumes_the_active_bin_then_steps_to_the_next():
    # bin 0: all 500,000 Y for 500,000 X plus fee ceil(500,000 * 10^6 / (10^9 - 10^6)) = 501
    # bin -1 (price 1/1.001): remaining 600,000 - 500,501 = 99,499; fee ceil(99.499) = 100; in 99,399
    #   out = floor(99,399 / 1.001) = floor(99,299.70) = 99,299
    swap = dlmm.swap(dlmm.DlmmPool(active_id=0), FLAT, 600_000, x_to_y=True, now_s=0)
    assert (swap.amount_out, swap.fee) == (500_000 + 99_299, 501 + 100)
    assert swap.pool.active_id == -1 and swap.bins_crossed == 1
    assert swap.pool.bins[0] == (1_000_000, 0)


def test_dlmm_variable_fee_grows_with_bins_crossed():
    # variable fee = ceil(vfc * (va * bin_step)^2 / 10^11); one bin crossed: va = 10,000
    # = ceil(300,000 * (100,000)^2 / 10^11) = 30,000, so the rate is 1,030,000 (0.103%)
    assert VOLATILE.total_fee_rate(0) == 1_000_000
    assert VOLATILE.total_fee_rate(10_000) == 1_030_000
    # in the second bin of a crossing swap: fee = ceil(99,499 * 1,030,000 / 10^9) = ceil(102.48) = 103
    swap = dlmm.swap(dlmm.DlmmPool(active_id=0), VOLATILE, 600_000, x_to_y=True, now_s=0)
    assert swap.fee == 501 + 103
    assert swap.pool.volatility_accumulator == 10_000


def test_dlmm_volatility_decays_between_filter_and_decay_periods():
    crossed = dlmm.swap(dlmm.DlmmPool(active_id=0), VOLATILE, 600_000, x_to_y=True, now_s=0).pool
    # 60 s later (past the 30 s filter, before the 600 s decay): reference = 10,000 * 5,000 / 10,000 = 5,000
    later = dlmm.swap(crossed, VOLATILE, 1_000, x_to_y=True, now_s=60)
    assert later.pool.volatility_accumulator == 5_000
    # variable fee at 5,000: ceil(300,000 * (50,000)^2 / 10^11) = 7,500
    assert VOLATILE.total_fee_rate(5_000) == 1_007_500
    assert later.fee == -(-1_000 * 1_007_500 // 10**9)
    # after the decay period the reference is back to zero
    assert dlmm.swap(crossed, VOLATILE, 1_000, x_to_y=True, now_s=700).pool.volatility_accumulator == 0


def test_dlmm_fee_is_capped_at_ten_percent():
    wild = dlmm.DlmmParams(10, 10_000, 10**9, 100_000, 30, 600, 5_000, 1_000_000)
    assert wild.total_fee_rate(100_000) == dlmm.MAX_FEE_RATE == 100_000_000


def test_dlmm_buying_x_moves_the_price_up():
    swap = dlmm.swap(dlmm.DlmmPool(active_id=0), FLAT, 600_000, x_to_y=False, now_s=0)
    assert swap.pool.active_id == 1
    assert swap.amount_out < 600_000


def test_dlmm_arbitrage_converts_the_bins_it_crosses():
    pool = dlmm.move_active(dlmm.DlmmPool(active_id=0), FLAT, -2)
    assert pool.active_id == -2
    # bin 0 held (500,000 X, 500,000 Y): its Y was bought with X at price 1
    assert pool.bins[0] == (1_000_000, 0)


def test_even_split_across_two_equal_pools_beats_either_alone():
    # one pool, 100,000 in: fee 250, out = 10^6 - ceil(10^12 / 1,099,750) = 90,702
    # two pools, 50,000 each: fee 125, out = 10^6 - ceil(10^12 / 1,049,875) = 47,505 each, 95,010 together
    def quote(amount: int) -> int:
        return cpmm.swap(1_000_000, 1_000_000, amount).amount_out

    assert quote(100_000) == 90_702
    split = routing.best_split(quote, quote, 100_000)
    assert split.first_pct == 50
    assert (split.first_amount_out, split.second_amount_out, split.amount_out) == (47_505, 47_505, 95_010)
    assert routing.splitting_may_pay(quote, quote, 100_000)


def test_uneven_pools_split_in_proportion_to_depth():
    def deep(amount: int) -> int:
        return cpmm.swap(3_000_000, 3_000_000, amount).amount_out

    def shallow(amount: int) -> int:
        return cpmm.swap(1_000_000, 1_000_000, amount).amount_out

    # equal prices: the marginal rates meet when each pool took the same share of its depth, 75% / 25%
    split = routing.best_split(deep, shallow, 400_000)
    assert split.first_pct == 75
    assert split.amount_out > max(deep(400_000), shallow(400_000))


def test_a_small_order_is_not_split():
    def good(amount: int) -> int:
        return cpmm.swap(10**12, 10**12, amount).amount_out

    def worse(amount: int) -> int:
        return cpmm.swap(10**12, 97 * 10**10, amount).amount_out

    assert not routing.splitting_may_pay(good, worse, 1_000_000)


def test_min_amount_out_takes_slippage_off_the_quote_rounding_down():
    assert slippage.min_amount_out(1_000_000, 50) == 995_000
    assert slippage.min_amount_out(999, 50) == 994  # 999 * 9,950 / 10,000 = 994.005
    assert slippage.min_amount_out(1_000, 0) == 1_000


def test_executed_price_is_whole_output_per_whole_input():
    sol, usdc = lookup("SOL"), lookup("USDC")
    assert slippage.executed_price(1_500_000_000, 225_000_000, sol, usdc) == "150"
    assert slippage.executed_price(150_000_000, 1_000_000_000, usdc, sol) == "0.00666666666667"


def test_native_sol_is_wrapped_before_and_unwrapped_after_the_swap():
    sol, usdc = lookup("SOL"), lookup("USDC")
    assert transaction.swap_steps(sol, usdc, ("raydium",)) == ("wrap_sol", "swap:raydium")
    assert transaction.swap_steps(usdc, sol, ("raydium", "meteora")) == ("swap:raydium", "swap:meteora", "unwrap_sol")
    assert transaction.swap_steps(usdc, lookup("USDT"), ("meteora",)) == ("swap:meteora",)


def test_priority_fee_is_compute_units_times_price():
    # (5,000 + 30,000 + 60,000) * 1.2 = 114,000 CU at 5,000 micro-lamports = 570 lamports
    steps = ("wrap_sol", "swap:raydium")
    assert transaction.compute_unit_limit(steps) == 114_000
    assert transaction.priority_fee_lamports(steps, congestion_pct=0) == 570
    assert transaction.priority_fee_lamports(steps, congestion_pct=100) == 1_140


def test_base58_matches_the_bitcoin_alphabet_encoding():
    assert b58encode(b"hello world") == "StV1DL6CwTryKyV"
    assert b58encode(b"\0\0\x01") == "112"
    assert b58encode(bytes(32)) == "1" * 32
