import random

import pytest

from order_engine.domain.retry import Fail, Retry, RetryPolicy


def test_backoff_grows_by_the_factor_until_the_cap():
    policy = RetryPolicy(max_attempts=10, base_ms=200, factor=2.0, cap_ms=1000)
    assert [policy.ceiling_ms(n) for n in range(1, 6)] == [200, 400, 800, 1000, 1000]


@pytest.mark.parametrize("failed_attempt", [1, 2, 3, 4])
def test_jittered_delay_stays_within_half_and_all_of_the_ceiling(failed_attempt):
    policy = RetryPolicy(max_attempts=10, base_ms=300, factor=3.0, cap_ms=5000)
    rng = random.Random(failed_attempt)
    low, high = policy.bounds_ms(failed_attempt)
    delays = {policy.delay_ms(failed_attempt, rng) for _ in range(500)}
    assert low == policy.ceiling_ms(failed_attempt) - policy.ceiling_ms(failed_attempt) // 2
    assert min(delays) >= low and max(delays) <= high
    assert len(delays) > 1  # jittered, not fixed


def test_transient_failure_before_the_last_attempt_is_retried_with_the_next_attempt_number():
    decision = RetryPolicy(max_attempts=3).decide(1, "quote_timeout", True, rng=random.Random(1))
    assert isinstance(decision, Retry)
    assert decision.next_attempt == 2
    assert decision.detail()["retry"]["reason"] == "quote_timeout"
    assert decision.detail()["retry"]["previousAttempt"] == 1


def test_transient_failure_on_the_last_attempt_fails_with_a_readable_reason():
    decision = RetryPolicy(max_attempts=3).decide(3, "slippage_exceeded", True)
    assert isinstance(decision, Fail)
    assert decision.error == "gave up after trying 3 times: the price moved beyond your slippage limit"


def test_non_retryable_failure_fails_on_the_first_attempt():
    decision = RetryPolicy(max_attempts=3).decide(1, "no_route", False, "no pool for BONK/USDC")
    assert isinstance(decision, Fail)
    assert decision.error == "no venue can fill this order (no pool for BONK/USDC)"


def test_a_single_attempt_policy_gives_up_after_one_try():
    decision = RetryPolicy(max_attempts=1).decide(1, "rpc_error", True)
    assert isinstance(decision, Fail) and decision.error.startswith("gave up after trying once")
