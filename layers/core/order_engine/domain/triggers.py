"""What a waiting order waits for: its trigger, the seam every waiting order type (limit, sniper) shares.

A trigger names a book (`kind` + `key`: one sorted set in the waiting book) and a `score` in it. The watcher
asks each book for the scores the market has reached and fires exactly those orders, so a tick costs what fires,
not what waits. `to_json`/`from_json` is the form PostgreSQL keeps, from which the books are rebuilt.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PRICE = "price"  # fires when the best price of tokenOut per tokenIn reaches the score (a limit order)
LISTING = "listing"  # fires once the book's pair has a pool: its level is the listing's slot (a sniper order)


@dataclass(frozen=True)
class Trigger:
    kind: str
    key: str  # which book of that kind, e.g. "<input mint>><output mint>" for a price
    score: float  # the order fires once the book's current level is at or above it

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, "score": self.score}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Trigger":
        return cls(str(data["kind"]), str(data["key"]), float(data["score"]))


def price_book(input_mint: str, output_mint: str) -> str:
    """The key of the price book of one direction of a pair: orders selling input_mint for output_mint."""
    return f"{input_mint}>{output_mint}"


def price_trigger(input_mint: str, output_mint: str, limit_price: float) -> Trigger:
    """A limit order fires when a venue offers at least `limit_price` tokenOut per tokenIn (whole tokens)."""
    return Trigger(PRICE, price_book(input_mint, output_mint), limit_price)
