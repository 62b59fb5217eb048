"""The simulated chain: it takes signed transactions, lands each within a slot or two against the pools as they
are then (transactions on one pair landing together, in the order they arrived), confirms them after the
confirmation latency, and answers signature status. Landings are recorded in Redis (the chain's live state, shared
by every process) and in the PostgreSQL ledger (`ChainStore`), which outlives a Redis flush."""
from __future__ import annotations

import asyncio
import json
import logging
import secrets
from dataclasses import dataclass, field

from order_engine.adapters.postgres.chain_ledger import ChainStore, LandedTransaction
from order_engine.adapters.redis.market_state import CasOutcome, Landing
from order_engine.batching import GroupCommit
from order_engine.config import Settings
from order_engine.dex.live_market import Market, encode
from order_engine.dex.model import market_model as model
from order_engine.dex.model.base58 import b58encode
from order_engine.dex.conditions import Conditions
from order_engine.dex.pairs import Pairs
from order_engine.domain import slippage
from order_engine.domain.swaps import (
    BlockhashExpired, BuiltSwap, RpcError, SignatureState, SlippageExceeded, SwapResult, TransactionDropped,
)
from order_engine.domain.tokens import by_mint

logger = logging.getLogger(__name__)

TRANSACTION_TTL_S = 7 * 24 * 3600
_CONFIRMATION_JITTER = 0.2


def new_signature() -> str:
    """64 random bytes in base58, as Solana prints a transaction signature (87 or 88 characters)."""
    while True:
        signature = b58encode(secrets.token_bytes(64))
        if len(signature) in (87, 88):
            return signature


@dataclass
class _InFlight:
    """What this process knows about a transaction it sent."""

    built: BuiltSwap
    submitted_at_ms: int
    lands_at_ms: int
    confirmed_at_ms: int
    price_move: bool
    landed: asyncio.Event = field(default_factory=asyncio.Event)
    outcome: LandedTransaction | None = None
    dropped_as: str | None = None


class SimulatedChain:
    def __init__(self, settings: Settings, market: Market, pairs: Pairs, ledger: ChainStore, conditions: Conditions):
        self.settings = settings
        self.market = market
        self.pairs = pairs
        self.ledger = ledger
        self._conditions = conditions
        self._clock = conditions.clock
        self._scale = conditions.scale
        self._liquidity = settings.dex_initial_liquidity_usd
        self._in_flight: dict[str, _InFlight] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._landings: dict[str, GroupCommit[tuple[str, _InFlight, bool], None]] = {}
        self._latest_blockhash: tuple[int, str] = (-1, "")

    @property
    def in_flight(self) -> int:
        """Transactions this process sent and has not seen confirmed (what its priority fees react to)."""
        return len(self._in_flight)

    def latest_blockhash(self, now_ms: int) -> str:
        """A new one every slot, shared by the transactions built in it."""
        slot = now_ms // self.settings.dex_slot_ms
        if self._latest_blockhash[0] != slot:
            self._latest_blockhash = (slot, b58encode(secrets.token_bytes(32)))
        return self._latest_blockhash[1]

    # -- sending and landing -------------------------------------------------------------------------------

    async def submit(self, built: BuiltSwap) -> str:
        """Send the signed transaction. Sending the same signature again is harmless, as on Solana: the chain
        processes a signature at most once."""
        signature = built.signature
        if signature is None:
            raise ValueError("submit() sends a transaction that build() signed; this one has no signature")
        await self._conditions.pause(self.settings.dex_submit_latency_ms)
        conditions, rng = self._conditions, self._conditions.rng
        if conditions.chance(self.settings.dex_fail_rpc_error):
            raise RpcError("the RPC node refused the transaction (it was not sent).")
        if signature in self._in_flight:
            return signature
        now_ms = self._clock()
        lands_at = now_ms + int(self.settings.dex_slot_ms * self._scale * rng.uniform(1.0, 2.0))
        confirmation = self.settings.dex_confirmation_ms * self._scale * rng.uniform(1 - _CONFIRMATION_JITTER, 1 + _CONFIRMATION_JITTER)
        confirmed_at = max(lands_at, now_ms + int(confirmation))
        flight = _InFlight(built, now_ms, lands_at, confirmed_at, conditions.chance(self.settings.dex_fail_price_move))
        if lands_at <= now_ms:  # no latency: it lands as it is sent (one script does both)
            self._in_flight[signature] = flight
            await self._land(signature, flight, sent_now=True)
        else:
            if not await self.market.store.put_pending(signature, {
                    "order_id": built.order_id, "expires_at": built.blockhash_expires_at_ms, "submitted_at": now_ms}):
                known = await self.market.store.transaction(signature)
                if known.get("state") != "pending":
                    return signature  # the chain already processed it: confirm() asks the chain about it
                # A rebroadcast of a transaction still pending (its first sender may have died): this send can
                # land it too; the landing script lets only the first of them land.
            self._in_flight[signature] = flight
            task = asyncio.create_task(self._land_later(signature, flight))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return signature

    async def _land_later(self, signature: str, flight: _InFlight) -> None:
        await asyncio.sleep(max(0, flight.lands_at_ms - self._clock()) / 1000)
        try:
            await self._land(signature, flight)
        except Exception:  # noqa: BLE001 - a transaction the chain fails to process never lands
            logger.exception("landing failed", extra={"signature": signature})
            flight.dropped_as = "error"
            flight.landed.set()

    async def _land(self, signature: str, flight: _InFlight, *, sent_now: bool = False) -> None:
        """Execute the transaction against the pools as they are now (not as quoted), atomically. Transactions
        landing on one pair at the same moment land together, in the order they arrived, as a slot orders them."""
        route = flight.built.route
        pair = (await self.pairs.live(route.input_mint, route.output_mint, self._clock())).name
        landings = self._landings.get(pair)
        if landings is None:
            landings = self._landings[pair] = GroupCommit(self._land_together)
        await landings.submit((signature, flight, sent_now))

    async def _land_together(self, batch: list[tuple[str, _InFlight, bool]]) -> list[None]:
        route = batch[0][1].built.route  # every transaction in a batch trades the same pair
        spec = self.pairs.known(route.input_mint, route.output_mint)
        now_ms = self._clock()
        waiting = batch
        while waiting:
            refused: dict[str, str] = {}
            outcomes: dict[str, dict[str, object]] = {}

            async def write(version: str, state: model.PairState) -> CasOutcome | None:
                outcomes.clear()
                landings = []
                for signature, flight, sent_now in waiting:
                    state, outcome = self._execute(spec, state, flight, now_ms)
                    outcomes[signature] = outcome
                    expiry = flight.built.blockhash_expires_at_ms if sent_now else None
                    # the ledger's whole record rides along, so whoever finds the landing can make it durable
                    landings.append(Landing(signature, {**_ledger_fields(flight.built), **outcome}, expiry))
                result = await self.market.store.land(spec.name, landings, version, encode(state), now_ms)
                if result.landed:
                    self.market.remember(spec, result.version or version, state)
                    return None
                if result.conflict is not None:
                    return result.conflict
                refused.update(result.refused or {})
                return None

            await self.market.update(spec, now_ms, write)
            for signature, flight, _ in waiting:
                if signature in refused:
                    flight.dropped_as = refused[signature] or "unknown"
                elif not refused:
                    flight.outcome = _landed(signature, flight.built, outcomes[signature])
                    self.ledger.record(flight.outcome)
                else:
                    continue  # lands in the next round, without the refused ones
                flight.landed.set()
            waiting = [item for item in waiting if refused and item[0] not in refused]
        return [None] * len(batch)

    def _execute(self, spec: model.PairSpec, state: model.PairState, flight: _InFlight,
                 now_ms: int) -> tuple[model.PairState, dict[str, object]]:
        """One transaction against the pair: the state after it, and how it landed (it fails below its minimum
        output and then leaves the pools as it found them, apart from the price move it was hit by)."""
        route, built = flight.built.route, flight.built
        if flight.price_move:
            move = self.settings.dex_price_move_bps / 10_000 * (-1 if route.input_mint == spec.base.mint else 1)
            for leg in route.legs:
                state = model.shocked(state, spec, self._liquidity, leg.venue, move)
        after, amount_out = state, 0
        for leg in route.legs:
            swap = model.swap_venue(after, spec, self._liquidity, leg.venue, route.input_mint, leg.amount_in, now_ms // 1000)
            after, amount_out = swap.state, amount_out + swap.amount_out
        ok = amount_out >= built.min_amount_out
        token_in, token_out = by_mint(route.input_mint), by_mint(route.output_mint)
        outcome: dict[str, object] = dict(
            state="confirmed" if ok else "failed",
            amount_out=amount_out if ok else None,
            executed_price=slippage.executed_price(route.amount_in, amount_out, token_in, token_out) if ok else None,
            error=None if ok else (f"slippage exceeded: the swap would return {amount_out}, below the minimum "
                                   f"{built.min_amount_out}; the price moved since the quote."),
            landed_at_ms=now_ms,
            confirmed_at_ms=flight.confirmed_at_ms,
        )
        return (after if ok else state), outcome

    # -- confirming and status -----------------------------------------------------------------------------

    async def confirm(self, signature: str) -> SwapResult:
        flight = self._in_flight.get(signature)
        if flight is None:
            return await self._await_foreign(signature)
        try:
            await flight.landed.wait()
            if flight.outcome is None:
                if flight.dropped_as in ("pending", "confirmed", "failed"):
                    return await self._await_foreign(signature)  # an earlier send of it is the one that counts
                result = await self.signature_status(signature)
                if result.state is SignatureState.EXPIRED or flight.dropped_as == "expired":
                    await self._conditions.pause_until(flight.built.blockhash_expires_at_ms)
                    raise BlockhashExpired(f"transaction {signature} was not landed before its blockhash expired.")
                raise TransactionDropped(f"transaction {signature} was dropped before it landed.")
            await self._conditions.pause_until(flight.confirmed_at_ms)
            await self.ledger.wait_durable(signature)
            result = _result(flight.outcome)
            if result.state is SignatureState.FAILED:
                raise SlippageExceeded(result.error or f"transaction {signature} failed.")
            return result
        finally:
            self._in_flight.pop(signature, None)

    async def _await_foreign(self, signature: str) -> SwapResult:
        """Confirm a transaction this process did not send (a recovered order): poll its status."""
        while True:
            result = await self.signature_status(signature)
            if result.state is SignatureState.CONFIRMED:
                return result
            if result.state is SignatureState.FAILED:
                raise SlippageExceeded(result.error or f"transaction {signature} failed.")
            if result.state is SignatureState.EXPIRED:
                raise BlockhashExpired(f"transaction {signature} was not landed before its blockhash expired.")
            if result.state is SignatureState.UNKNOWN:
                raise TransactionDropped(f"the chain has no record of transaction {signature}.")
            await asyncio.sleep(max(self.settings.dex_slot_ms * self._scale, 10) / 1000)

    async def signature_status(self, signature: str) -> SwapResult:
        now_ms = self._clock()
        record = await self.market.store.transaction(signature)
        state = record.get("state") if record else None
        if state == "pending":
            if now_ms < int(record["expires_at"]):
                return SwapResult(signature, SignatureState.PENDING)
            state = await self.market.store.expire_if_due(signature, now_ms)
            if state == "pending":
                return SwapResult(signature, SignatureState.PENDING)
        if state == "expired":
            return SwapResult(signature, SignatureState.EXPIRED, error="blockhash expired before the transaction landed")
        if state in ("confirmed", "failed"):
            if now_ms < int(record["confirmed_at_ms"]):
                return SwapResult(signature, SignatureState.PENDING)
            return _result(await self._durable_landing(signature, record))
        landed = await self.ledger.get(signature)  # Redis never saw it, or lost it: the durable ledger decides
        if landed is None:
            return SwapResult(signature, SignatureState.UNKNOWN)
        if now_ms < landed.confirmed_at_ms:
            return SwapResult(signature, SignatureState.PENDING)
        return _result(landed)

    async def _durable_landing(self, signature: str, record: dict[str, str]) -> LandedTransaction:
        """A landing Redis shows is reported only once the ledger holds it: the process that landed it may have
        died before its batch reached PostgreSQL, and after a Redis flush only the ledger remembers."""
        landed = await self.ledger.get(signature)
        if landed is None:
            landed = _landed_from_record(signature, record)
            self.ledger.record(landed)
        await self.ledger.wait_durable(signature)
        return landed

    async def close(self) -> None:
        """Abandon the transactions still in flight (they expire, as when a process stops), finish the landings
        under way, and write the ledger's buffered records."""
        for task in list(self._tasks):
            task.cancel()
        for landings in self._landings.values():
            await landings.close()
        await self.ledger.close()


def _ledger_fields(built: BuiltSwap) -> dict[str, object]:
    route = built.route
    return dict(order_id=built.order_id, input_mint=route.input_mint, output_mint=route.output_mint,
                amount_in=route.amount_in, min_amount_out=built.min_amount_out,
                legs=json.dumps([[leg.venue, leg.amount_in] for leg in route.legs]))


def _landed(signature: str, built: BuiltSwap, outcome: dict[str, object]) -> LandedTransaction:
    return LandedTransaction(signature=signature, **_ledger_fields(built), **outcome)  # type: ignore[arg-type]


def _landed_from_record(signature: str, record: dict[str, str]) -> LandedTransaction:
    """The ledger entry from the chain's Redis record of a landing (strings; '' for none)."""
    def optional_int(name: str) -> int | None:
        return int(record[name]) if record.get(name) else None

    return LandedTransaction(
        signature=signature, order_id=record["order_id"], state=record["state"], input_mint=record["input_mint"],
        output_mint=record["output_mint"], amount_in=int(record["amount_in"]),
        min_amount_out=int(record["min_amount_out"]), amount_out=optional_int("amount_out"),
        executed_price=record.get("executed_price") or None, error=record.get("error") or None,
        legs=record["legs"], landed_at_ms=int(record["landed_at_ms"]), confirmed_at_ms=int(record["confirmed_at_ms"]),
    )


def _result(landed: LandedTransaction) -> SwapResult:
    if landed.state == "confirmed":
        return SwapResult(landed.signature, SignatureState.CONFIRMED, landed.amount_out, landed.executed_price)
    return SwapResult(landed.signature, SignatureState.FAILED, error=landed.error or "slippage exceeded")

