"""One order's way through the lifecycle, from whatever state the executor finds it in.

pending/routing: route (fresh quotes) -> routing, build -> building, send -> submitted, confirm -> confirmed.
A transaction's signature is recorded before anything waits on it, and an order found with one (a recovery)
asks the chain about it first: a swap that may still land is waited for, never sent again.
Each step is a conditional write; losing it means another executor has the order, and this one lets go.

Durable before the next step starts: the signed transaction (building, before it is sent), a retry's new
attempt and the terminal step. The others ride in the next write (`pending`: one statement, both or neither):
routing with building (nothing outside has happened yet; a crash re-routes), and submitted with the terminal
step when the chain answers within `RIDE_WINDOW_S`, else submitted is written alone first so subscribers are
not kept waiting for it (a crash before it is stored is the recovery of a building order with a signature).
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from order_engine.domain.swaps import (
    BlockhashExpired, BuiltSwap, DexError, Route, RouteLeg, SignatureState, SlippageExceeded, SwapResult,
    TransactionDropped,
)
from order_engine.domain import slippage
from order_engine.domain.lifecycle import HELD, TERMINAL, Status
from order_engine.domain.order import Order
from order_engine.domain.quotes import QuoteTerms
from order_engine.domain.retry import Fail, RetryPolicy
from order_engine.domain.transition import Transition
from order_engine.ports import Dex
from order_engine.services.executor.recorder import StepRecorder

logger = logging.getLogger(__name__)

LIMIT_NOT_MET = "limit_not_met"  # retryable: the market may come back within the attempts left (limit or maxPrice)
SETTLE_MARGIN_MS = 2_000  # past a blockhash's expiry before an unseen transaction is taken as never landing
RIDE_WINDOW_S = 0.2  # the longest `submitted` waits for the confirmation to share its write


@dataclass(frozen=True)
class Outcome:
    """What the queue does with the order next: 'ack' (finished here or elsewhere), 'delay' until `due_ms`
    (a retry's backoff, or waiting for the chain), 'release' (give it back at once)."""

    action: str
    due_ms: int = 0
    result: str = ""  # confirmed | failed | retry | wait | lost | done | held

    @classmethod
    def ack(cls, result: str) -> "Outcome":
        return cls("ack", 0, result)


class LeaseLost(Exception):
    """This executor's lease on the order ran out; another may be working on it."""


class OrderFlow:
    """Drives one order as far as it can go now. Stateless across orders; one per executor."""

    def __init__(self, dex: Dex, recorder: StepRecorder, policy: RetryPolicy,
                 last_sent: Callable[[str], Awaitable[dict[str, Any]]], holds_lease: Callable[[str], Awaitable[bool]],
                 rng: random.Random | None = None):
        self.dex, self.recorder, self.policy = dex, recorder, policy
        self._last_sent = last_sent  # order id -> the detail of its latest building/submitted event
        self._holds_lease = holds_lease
        self._rng = rng or random.Random()

    async def drive(self, order: Order) -> Outcome:
        if order.status in TERMINAL:
            return Outcome.ack("done")
        if order.status in HELD:  # its trigger's watcher holds it and queues it once it is pending
            return Outcome.ack("held")
        if order.status in (Status.BUILDING, Status.SUBMITTED):
            return await self._recover(order)
        return await self._attempt(order)

    async def _attempt(self, order: Order) -> Outcome:
        attempt = max(order.attempts, 1)
        quote = None if order.quote is None else QuoteTerms.from_record(order.quote)
        try:
            # an order placed by a quote executes on the quoted route, never a fresh one
            route = quote.executable_route() if quote else await self.dex.route(
                order.token_in_mint, order.token_out_mint, order.amount_in)
        except DexError as exc:
            return await self._attempt_failed(order, attempt, exc.reason, exc.retryable, exc.message)
        least = order.floor_amount_out
        if least is not None and route.amount_out < least:
            return await self._attempt_failed(
                order, attempt, LIMIT_NOT_MET, True,
                f"the best route returns {route.amount_out}, below the {least} the {order.floor_reason} asks for.")
        routed = route.to_detail() if quote is None else {**route.to_detail(), "quoteId": quote.quote_id}
        routing = Transition(order, Status.ROUTING, detail=routed,
                             changes={"attempts": attempt, "dex": route.dex, "amount_out": route.amount_out})
        order, pending = routing.after(), (routing,)
        slippage_bps, chosen = _tolerance(order, route)
        try:
            built = await self.dex.build(order.id, route, slippage_bps, least)
        except DexError as exc:
            return await self._attempt_failed(order, attempt, exc.reason, exc.retryable, exc.message, pending)
        order = await self._step(order, Status.BUILDING, {**_build_detail(built, built.signature), **chosen}, pending,
                                 min_amount_out=built.min_amount_out, tx_hash=built.signature,
                                 slippage_bps=slippage_bps)
        if order is None:
            return Outcome.ack("lost")
        if not await self._holds_lease(order.id):
            raise LeaseLost(order.id)
        try:
            signature = await self.dex.submit(built)
        except DexError as exc:
            return await self._attempt_failed(order, attempt, exc.reason, exc.retryable, exc.message)
        submitted = Transition(order, Status.SUBMITTED,
                               detail={"txHash": signature, "blockhashExpiresAt": built.blockhash_expires_at_ms},
                               changes={"tx_hash": signature})
        return await self._confirm(submitted.after(), (submitted,))

    async def _confirm(self, order: Order, pending: tuple[Transition, ...] = ()) -> Outcome:
        confirming = asyncio.ensure_future(self.dex.confirm(order.tx_hash))
        try:
            if pending:
                await asyncio.wait([confirming], timeout=RIDE_WINDOW_S)
                if not confirming.done():
                    if await self.recorder.record_chain(list(pending)) is None:
                        return Outcome.ack("lost")
                    pending = ()
            try:
                result = await confirming
            except (SlippageExceeded, BlockhashExpired, TransactionDropped) as exc:  # landed and failed, or never can
                return await self._attempt_failed(order, order.attempts, exc.reason, exc.retryable, exc.message,
                                                  pending)
            except DexError:
                # We cannot tell whether it landed: ask the chain again after a pause, never send it again.
                return await self._recheck_later(order, pending)
        finally:
            confirming.cancel()  # a no-op once done; stops the wait when this drive is cancelled or lost
        return await self._settled(order, result, pending)

    async def _settled(self, order: Order, result: SwapResult, pending: tuple[Transition, ...] = ()) -> Outcome:
        if result.state is SignatureState.CONFIRMED:
            return await self._confirmed(order, result, pending)
        if result.state is SignatureState.FAILED:
            return await self._attempt_failed(order, order.attempts, SlippageExceeded.reason, True, result.error,
                                              pending)
        if result.state is SignatureState.EXPIRED:
            return await self._attempt_failed(order, order.attempts, BlockhashExpired.reason, True, result.error,
                                              pending)
        return await self._recheck_later(order, pending)

    async def _recover(self, order: Order) -> Outcome:
        """An order found mid-attempt (its executor stopped): ask the chain before doing anything else."""
        sent = await self._last_sent(order.id)
        expires_ms = sent.get("blockhashExpiresAt")
        if order.tx_hash is None:
            # Built, but no signature recorded: whatever was sent can land only until its blockhash expires.
            if expires_ms and time.time() * 1000 < expires_ms + SETTLE_MARGIN_MS:
                return Outcome("delay", int(expires_ms + SETTLE_MARGIN_MS), "wait")
            return await self._attempt_failed(order, order.attempts, "interrupted", True, None)
        try:
            status = await self.dex.signature_status(order.tx_hash)
        except DexError:
            return await self._recheck_later(order)
        resend = _signed_transaction(order, sent)
        if (status.state in (SignatureState.UNKNOWN, SignatureState.PENDING) and resend is not None
                and time.time() * 1000 < resend.blockhash_expires_at_ms):
            # Send the same signed transaction again, as a Solana client rebroadcasts: its signature lands at most
            # once, so this cannot double the swap, and the order need not wait out a blockhash it may never use.
            if not await self._holds_lease(order.id):
                raise LeaseLost(order.id)
            try:
                await self.dex.submit(resend)
            except DexError:
                return await self._recheck_later(order)
            status = dataclasses.replace(status, state=SignatureState.PENDING)
        if status.state is SignatureState.UNKNOWN:
            if expires_ms and time.time() * 1000 < expires_ms + SETTLE_MARGIN_MS:
                return Outcome("delay", int(expires_ms + SETTLE_MARGIN_MS), "wait")
            return await self._attempt_failed(order, order.attempts, "interrupted", True, None)
        if order.status is Status.BUILDING:  # the chain has seen it, so it was sent
            order = await self._step(order, Status.SUBMITTED,
                                     {"txHash": order.tx_hash, "blockhashExpiresAt": expires_ms, "recovered": True},
                                     tx_hash=order.tx_hash)
            if order is None:
                return Outcome.ack("lost")
        if status.state is SignatureState.PENDING:
            return await self._confirm(order)
        return await self._settled(order, status)

    async def _recheck_later(self, order: Order, pending: tuple[Transition, ...] = ()) -> Outcome:
        if pending and await self.recorder.record_chain(list(pending)) is None:
            return Outcome.ack("lost")
        delay = self.policy.delay_ms(1, self._rng)
        return Outcome("delay", int(time.time() * 1000) + delay, "wait")

    async def _confirmed(self, order: Order, result: SwapResult, pending: tuple[Transition, ...] = ()) -> Outcome:
        changes = {"amount_out": result.amount_out, "executed_price": result.executed_price, "error": None}
        t = Transition(order, Status.CONFIRMED, changes=changes)
        after = t.after()
        detail = {"dex": after.dex, "txHash": after.tx_hash, "executedPrice": after.executed_price,
                  "amountOut": None if after.amount_out is None else str(after.amount_out), "order": after.to_api()}
        stored = await self.recorder.record_chain([*pending, dataclasses.replace(t, detail=detail)])
        return Outcome.ack("confirmed" if stored else "lost")

    async def _attempt_failed(self, order: Order, attempt: int, code: str, retryable: bool,
                              message: str | None, pending: tuple[Transition, ...] = ()) -> Outcome:
        if order.quote is not None and code == SlippageExceeded.reason:
            # a retry would only meet the same minimum on the same route: the quote no longer holds
            retryable = False
            message = (f"the market moved past quote {order.quote['quoteId']}'s slippage of "
                       f"{order.quote['slippageBps']} bps; the order is not re-routed: get a new quote. "
                       f"{message or ''}").strip()
        decision = self.policy.decide(max(attempt, 1), code, retryable, message, self._rng)
        if isinstance(decision, Fail):
            stored = await self._step(order, Status.FAILED, decision.detail(), pending, error=decision.error,
                                      attempts=decision.attempts)
            return Outcome.ack("failed" if stored else "lost")
        stored = await self._step(order, Status.ROUTING, decision.detail(), pending,
                                  attempts=decision.next_attempt, error=decision.error, tx_hash=None)
        if stored is None:
            return Outcome.ack("lost")
        return Outcome("delay", int(time.time() * 1000) + decision.delay_ms, "retry")

    async def _step(self, order: Order, to: Status, detail: dict[str, Any], pending: tuple[Transition, ...] = (),
                    **changes: Any) -> Order | None:
        """Write the step to `to`, after the steps still `pending` (in the same write)."""
        return await self.recorder.record_chain([*pending, Transition(order, to, detail=detail, changes=changes)])


def _tolerance(order: Order, route: Route) -> tuple[int, dict[str, Any]]:
    """The slippage the order's swap is built with, and (dynamic slippage) the event detail saying why."""
    bounds = order.dynamic_slippage
    if bounds is None:
        return order.slippage_bps, {}
    bps = slippage.dynamic_slippage_bps(bounds, route.volatility_bps, route.price_impact_bps)
    return bps, {"dynamicSlippage": {**bounds.to_api(), "chosenBps": bps, "volatilityBps": route.volatility_bps,
                                     "priceImpactBps": route.price_impact_bps}}


def _signed_transaction(order: Order, sent: dict[str, Any]) -> BuiltSwap | None:
    """The transaction a building event recorded, as signed (None for events written before legs were kept)."""
    if not sent.get("legs") or not sent.get("txHash") or not sent.get("blockhashExpiresAt"):
        return None
    legs = tuple(RouteLeg(leg["venue"], int(leg["amountIn"]), int(leg["amountOut"])) for leg in sent["legs"])
    route = Route(order.token_in_mint, order.token_out_mint, order.amount_in, legs, (), "the recorded route")
    return BuiltSwap(order.id, route, int(sent["minAmountOut"]), tuple(sent.get("steps") or ()),
                     int(sent.get("priorityFeeLamports") or 0), str(sent.get("blockhash") or ""),
                     int(sent["blockhashExpiresAt"]), {}, signature=sent["txHash"])


def _build_detail(built: BuiltSwap, signature: str | None) -> dict[str, Any]:
    detail: dict[str, Any] = {**built.detail, "minAmountOut": str(built.min_amount_out), "steps": list(built.steps),
                              "priorityFeeLamports": built.priority_fee_lamports, "blockhash": built.blockhash,
                              "blockhashExpiresAt": built.blockhash_expires_at_ms,
                              "legs": [{"venue": leg.venue, "amountIn": str(leg.amount_in),
                                        "amountOut": str(leg.amount_out)} for leg in built.route.legs]}
    if signature:
        detail["txHash"] = signature
    return detail
