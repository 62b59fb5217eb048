"""The market model: venues apart by the configured spread, pulled back by arbitrage, repeatable by seed."""
from __future__ import annotations

import math

from order_engine.dex.model import market_model as model
from order_engine.dex.model.market_model import METEORA, PAIRS, RAYDIUM, MarketParams, advance, initial_state, swap_venue

SOL_USDC = PAIRS[0]
LIQUIDITY = 2_000_000


def _params(seed: int = 7) -> MarketParams:
    return MarketParams.from_knobs(seed, tick_ms=400, volatility_bps_per_minute=10.0, venue_spread_bps=350.0,
                                   drift_half_life_s=1_800.0, arbitrage_half_life_s=2.0)


def _quoted_prices(state: model.PairState, amount: int) -> tuple[float, float]:
    prices = []
    for venue in (RAYDIUM, METEORA):
        quote = swap_venue(state, SOL_USDC, LIQUIDITY, venue, SOL_USDC.base.mint, amount, 0, quote_only=True)
        prices.append(quote.amount_out / amount)
    return prices[0], prices[1]


def test_over_ten_thousand_quotes_the_venues_are_two_to_five_percent_apart_on_average():
    params = _params()
    state = initial_state(SOL_USDC, params, LIQUIDITY, tick=0)
    gaps = []
    for i in range(1, 10_001):
        state = advance(state, SOL_USDC, params, LIQUIDITY, to_tick=i * 150)  # a quote a minute
        raydium, meteora = _quoted_prices(state, 10**9)
        gaps.append(abs(raydium - meteora) / min(raydium, meteora))
    mean_gap = sum(gaps) / len(gaps)
    assert 0.02 <= mean_gap <= 0.05
    assert max(gaps) > 0.05 and min(gaps) < 0.01  # they wander: sometimes close, sometimes far apart


def test_the_same_seed_gives_the_same_market_and_another_seed_another():
    def run(seed: int) -> list[float]:
        params = _params(seed)
        state = initial_state(SOL_USDC, params, LIQUIDITY, tick=0)
        prices = []
        for i in range(1, 50):
            state = advance(state, SOL_USDC, params, LIQUIDITY, to_tick=i * 10)
            prices.append(_quoted_prices(state, 10**9)[0])
        return prices

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_reference_walks_with_the_configured_volatility():
    params = _params()
    state = initial_state(SOL_USDC, params, LIQUIDITY, tick=0)
    moves = []
    for i in range(1, 2_001):
        nxt = advance(state, SOL_USDC, params, LIQUIDITY, to_tick=i * 150)  # one minute per step
        moves.append(nxt.reference_log - state.reference_log)
        state = nxt
    stdev_bps = math.sqrt(sum(m * m for m in moves) / len(moves)) * 10_000
    assert 8.5 < stdev_bps < 11.5  # configured: 10 bps per minute


def test_arbitrage_pulls_a_pushed_pool_back_toward_its_venue_price():
    params = _params()
    state = initial_state(SOL_USDC, params, LIQUIDITY, tick=0)
    before = state.venue_log_price(RAYDIUM, SOL_USDC)
    dumped = swap_venue(state, SOL_USDC, LIQUIDITY, RAYDIUM, SOL_USDC.base.mint, 2_000 * 10**9, 0).state
    pushed = dumped.venue_log_price(RAYDIUM, SOL_USDC)
    assert before - pushed > 0.03  # a 2,000 SOL sale moved the pool's price down by more than 3%
    later = advance(dumped, SOL_USDC, params, LIQUIDITY, to_tick=50)  # 20 s: ten arbitrage half-lives
    assert abs(later.venue_log_price(RAYDIUM, SOL_USDC) - before) < 0.005
