"""What a swap transaction contains: its steps (wrapping native SOL when needed) and a priority-fee estimate."""
from __future__ import annotations

from order_engine.domain.tokens import Token

WRAP_SOL = "wrap_sol"
UNWRAP_SOL = "unwrap_sol"
COMPUTE_UNITS = {WRAP_SOL: 30_000, UNWRAP_SOL: 5_000, "swap:raydium": 60_000, "swap:meteora": 90_000}
BASE_COMPUTE_UNITS = 5_000
COMPUTE_UNIT_HEADROOM_PCT = 20
BASE_MICRO_LAMPORTS_PER_CU = 5_000


def swap_steps(token_in: Token, token_out: Token, venues: tuple[str, ...]) -> tuple[str, ...]:
    """A native-SOL input is wrapped into wSOL before the swap; a native-SOL output is unwrapped after it."""
    steps: list[str] = [WRAP_SOL] if token_in.native else []
    steps.extend(f"swap:{venue}" for venue in venues)
    if token_out.native:
        steps.append(UNWRAP_SOL)
    return tuple(steps)


def compute_unit_limit(steps: tuple[str, ...]) -> int:
    units = BASE_COMPUTE_UNITS + sum(COMPUTE_UNITS.get(step, 50_000) for step in steps)
    return units * (100 + COMPUTE_UNIT_HEADROOM_PCT) // 100


def priority_fee_lamports(steps: tuple[str, ...], congestion_pct: int) -> int:
    """Compute-unit limit x price, the price rising with recent activity (0..100% congestion doubles it)."""
    micro_lamports_per_cu = BASE_MICRO_LAMPORTS_PER_CU * (100 + max(0, min(100, congestion_pct))) // 100
    return -(-compute_unit_limit(steps) * micro_lamports_per_cu // 1_000_000)
