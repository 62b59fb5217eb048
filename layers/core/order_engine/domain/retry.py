"""What happens after an attempt fails: retry after exponential backoff with jitter, or fail with a reason.

Pure: the caller passes the failure's code and whether it is retryable, and a random source for the jitter.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

# Reasons a person can read, keyed by the failure codes of domain.swaps (DexError.reason) and the executor.
REASONS: dict[str, str] = {
    "quote_timeout": "the venues did not answer with a quote in time",
    "venue_error": "a venue was unavailable",
    "rpc_error": "the Solana RPC node returned an error",
    "blockhash_expired": "the transaction's blockhash expired before it landed",
    "slippage_exceeded": "the price moved beyond your slippage limit",
    "no_route": "no venue can fill this order",
    "interrupted": "the executor working on it stopped before the attempt finished",
    "dex_error": "the venue rejected the swap",
}


def describe(code: str, message: str | None = None) -> str:
    """A sentence for the order's `error`: the reason in words, and the venue's message when it adds detail."""
    reason = REASONS.get(code, code.replace("_", " "))
    return f"{reason} ({message})" if message and message != reason else reason


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with 'equal jitter': attempt n waits between half and all of min(cap, base * factor^(n-1))."""

    max_attempts: int = 3
    base_ms: int = 200
    factor: float = 2.0
    cap_ms: int = 5000

    def ceiling_ms(self, failed_attempt: int) -> int:
        return int(min(self.cap_ms, self.base_ms * self.factor ** (failed_attempt - 1)))

    def bounds_ms(self, failed_attempt: int) -> tuple[int, int]:
        """The smallest and largest delay after attempt `failed_attempt` (1-based) failed."""
        ceiling = self.ceiling_ms(failed_attempt)
        return ceiling - ceiling // 2, ceiling

    def delay_ms(self, failed_attempt: int, rng: random.Random | None = None) -> int:
        low, high = self.bounds_ms(failed_attempt)
        return (rng or random).randint(low, high)

    def decide(self, failed_attempt: int, code: str, retryable: bool, message: str | None = None,
               rng: random.Random | None = None) -> "Retry | Fail":
        if not retryable:
            return Fail(code, describe(code, message), failed_attempt)
        if failed_attempt >= self.max_attempts:
            times = "once" if failed_attempt == 1 else f"{failed_attempt} times"
            return Fail(code, f"gave up after trying {times}: {describe(code, message)}", failed_attempt)
        return Retry(code, describe(code, message), failed_attempt + 1, self.delay_ms(failed_attempt, rng))


@dataclass(frozen=True)
class Retry:
    code: str
    error: str
    next_attempt: int
    delay_ms: int

    def detail(self) -> dict[str, object]:
        """The retry event's detail: which attempt comes next and why the last one failed."""
        return {"retry": {"reason": self.code, "error": self.error, "previousAttempt": self.next_attempt - 1,
                          "delayMs": self.delay_ms}}


@dataclass(frozen=True)
class Fail:
    code: str
    error: str
    attempts: int

    def detail(self) -> dict[str, object]:
        return {"error": self.error, "reason": self.code}
