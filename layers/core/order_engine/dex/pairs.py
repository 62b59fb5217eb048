"""The pairs that have pools: the market's own, and each listed token's, which trades from its listing slot on."""
from __future__ import annotations

from order_engine.adapters.postgres.listing_table import ListingCache
from order_engine.dex.model import market_model as model
from order_engine.domain.listings import Listing, iso_ms, listable_pair
from order_engine.domain.swaps import NoPool, NoRoute
from order_engine.domain.tokens import by_mint


class Pairs:
    def __init__(self, listings: ListingCache, slot_ms: int):
        self.listings = listings
        self.slot_ms = slot_ms

    def known(self, input_mint: str, output_mint: str) -> model.PairSpec:
        """A pair with pools: one of the market's own, or a listed one this process has read (see `live`)."""
        spec = model.pair_for(input_mint, output_mint)
        if spec is not None and input_mint != output_mint:
            return spec
        tokens = listable_pair(by_mint(input_mint), by_mint(output_mint))
        listing = self.listings.cached(*tokens) if tokens else None
        if listing is None:
            raise NoRoute(f"no venue trades {by_mint(input_mint).symbol} for {by_mint(output_mint).symbol}.")
        return model.listed_pair(listing)

    async def live(self, input_mint: str, output_mint: str, now_ms: int) -> model.PairSpec:
        """The pair's pools as of now: a listed token trades from its listing's slot on, and has no pool before."""
        tokens = listable_pair(by_mint(input_mint), by_mint(output_mint))
        if tokens is None:
            return self.known(input_mint, output_mint)
        listing = await self.listings.for_pair(*tokens)
        name = f"{tokens[0].symbol}-{tokens[1].symbol}"
        if listing is None:
            raise NoPool(f"no pool: {name} is not listed ({tokens[0].symbol} has no pool against {tokens[1].symbol}).")
        if not listing.live(now_ms, self.slot_ms):
            raise NoPool(f"no pool: {name} lists at slot {listing.slot} "
                         f"({iso_ms(listing.starts_at_ms(self.slot_ms))}), not yet.")
        return model.listed_pair(listing)

    async def live_listings(self, now_ms: int) -> list[Listing]:
        return [listing for listing in await self.listings.all() if listing.live(now_ms, self.slot_ms)]
