"""The operator's listing events: schedule a new token's pools, and see what is listed or scheduled."""
from __future__ import annotations

import time
from typing import Any, Callable, Mapping

from order_engine.config import Settings
from order_engine.domain.listings import parse_listing_request
from order_engine.errors import EngineError, ErrorCode
from order_engine.ports import ListingBook


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class ListingService:
    def __init__(self, settings: Settings, book: ListingBook, clock: Callable[[], int] = wall_clock_ms):
        self.settings, self.book, self.clock = settings, book, clock

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        now_ms = self.clock()
        listing = parse_listing_request(body, now_ms=now_ms, slot_ms=self.settings.dex_slot_ms)
        stored, created = self.book.create(listing)
        view = stored.to_api(self.settings.dex_slot_ms, now_ms)
        if not created:
            raise EngineError(f"{stored.pair} already has a listing (slot {stored.slot}); a pair is listed once.",
                              [{"field": "token", "rule": "not_listed", "message": f"{stored.pair} is already "
                                "listed or scheduled.", "listing": view}], code=ErrorCode.ALREADY_LISTED)
        return view

    def all(self) -> list[dict[str, Any]]:
        now_ms = self.clock()
        return [listing.to_api(self.settings.dex_slot_ms, now_ms) for listing in self.book.all()]
