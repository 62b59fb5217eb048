"""The simulated market's listings in PostgreSQL (table dex_listings): the operator writes them, the venues read
them. A listing never changes once written, so `ListingCache` keeps every one it has read for good and asks again
about a pair without one at most every `refresh_ms`. This module is the only code that speaks SQL for listings.
"""
from __future__ import annotations

import asyncio
import time

from order_engine.domain.listings import Listing, pair_name
from order_engine.domain.prices import parse_price, price_text
from order_engine.domain.tokens import Token, by_mint
from order_engine.adapters.postgres.database import Database

_COLUMNS = "token_mint, quote_mint, venues, price, liquidity, slot"
_INSERT = f"""
INSERT INTO dex_listings (pair, {_COLUMNS}) VALUES (:pair, :token, :quote, :venues, :price, :liquidity, :slot)
ON CONFLICT DO NOTHING RETURNING pair
"""
_FOR_PAIR = f"SELECT {_COLUMNS} FROM dex_listings WHERE token_mint = :token AND quote_mint = :quote"
_ALL = f"SELECT {_COLUMNS} FROM dex_listings ORDER BY slot, pair"
_DUE = f"SELECT {_COLUMNS} FROM dex_listings WHERE slot > :after AND slot <= :until ORDER BY slot, pair"


def _listing(row: list) -> Listing:
    token_mint, quote_mint, venues, price, liquidity, slot = row
    return Listing(by_mint(token_mint), by_mint(quote_mint), tuple(venues.split(",")),
                   parse_price("price", price, "quote tokens"), int(liquidity), int(slot))


class PgListingBook:
    def __init__(self, database: Database):
        self._db = database

    def create(self, listing: Listing) -> tuple[Listing, bool]:
        """(the pair's listing, whether this call created it): a pair already listed keeps its first listing."""
        rows = self._db.run(_INSERT, pair=listing.pair, token=listing.token.mint, quote=listing.quote.mint,
                            venues=",".join(listing.venues), price=price_text(listing.price),
                            liquidity=listing.liquidity, slot=listing.slot)
        if rows:
            return listing, True
        existing = self.for_pair(listing.token, listing.quote)
        assert existing is not None  # a conflict means the row exists, and rows are never deleted
        return existing, False

    def for_pair(self, token: Token, quote: Token) -> Listing | None:
        rows = self._db.run(_FOR_PAIR, token=token.mint, quote=quote.mint)
        return _listing(rows[0]) if rows else None

    def all(self) -> list[Listing]:
        return [_listing(row) for row in self._db.run(_ALL)]

    def due(self, after_slot: int, until_slot: int) -> list[Listing]:
        """The listings whose first slot is in (after_slot, until_slot]."""
        return [_listing(row) for row in self._db.run(_DUE, after=after_slot, until=until_slot)]


class ListingCache:
    """The venues' view of the listings, for one event loop."""

    def __init__(self, store: PgListingBook, refresh_ms: int):
        self._store = store
        self._refresh_s = refresh_ms / 1000
        self._known: dict[str, Listing] = {}
        self._asked_at: dict[str, float] = {}
        self._all_read_at = float("-inf")

    async def for_pair(self, token: Token, quote: Token) -> Listing | None:
        name = pair_name(token, quote)
        known = self._known.get(name)
        if known is not None:
            return known
        if time.monotonic() - self._asked_at.get(name, float("-inf")) < self._refresh_s:
            return None
        listing = await asyncio.to_thread(self._store.for_pair, token, quote)
        self._asked_at[name] = time.monotonic()
        if listing is not None:
            self._known[name] = listing
        return listing

    async def all(self) -> list[Listing]:
        """Every listing, read again at most every `refresh_ms` (a new listing is seen that soon)."""
        if time.monotonic() - self._all_read_at >= self._refresh_s:
            for listing in await asyncio.to_thread(self._store.all):
                self._known.setdefault(listing.pair, listing)
            self._all_read_at = time.monotonic()
        return list(self._known.values())

    def cached(self, token: Token, quote: Token) -> Listing | None:
        return self._known.get(pair_name(token, quote))
