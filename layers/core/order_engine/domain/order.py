"""A market order: how a request becomes one, and how it is shown.

`parse_order_request` accepts both seed request shapes and turns them into an `OrderRequest` with exact
integer amounts, or raises `InvalidField` naming the field and the rule it broke.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Any, Mapping

from order_engine.domain.lifecycle import Status
from order_engine.domain.limit_orders import (EXPIRES_AT, LIMIT_FIELDS, LIMIT_PRICE, TTL_SECONDS, LimitTerms,
                                              limit_min_amount_out, parse_limit_terms, refuse_limit_fields)
from order_engine.domain.prices import price_text
from order_engine.domain.quotes import QuoteTerms
from order_engine.domain.slippage import SlippageBounds
from order_engine.domain.sniper_orders import (MAX_PRICE, SNIPER, SNIPER_FIELDS, SniperTerms, parse_sniper_terms,
                                               refuse_sniper_fields, sniper_min_amount_out)
from order_engine.domain.tokens import Token, by_mint, parse_base_units, resolve_token, to_decimal_string, whole_to_base_units
from order_engine.errors import InvalidField, QuoteExpired, QuoteNotFound


# The request's field names, the one place they are spelled (the API's request model takes them from here).
WHOLE_SHAPE = ("tokenIn", "tokenOut", "amount")
BASE_UNIT_SHAPE = ("inputMint", "outputMint", "amountIn")
SLIPPAGE_BPS, ORDER_TYPE, CLIENT_ORDER_ID = "slippageBps", "type", "clientOrderId"
DYNAMIC_SLIPPAGE, MIN_BPS, MAX_BPS = "dynamicSlippage", "minBps", "maxBps"
QUOTE_ID = "quoteId"
REQUEST_FIELDS = (*WHOLE_SHAPE, *BASE_UNIT_SHAPE, SLIPPAGE_BPS, DYNAMIC_SLIPPAGE, QUOTE_ID, ORDER_TYPE,
                  CLIENT_ORDER_ID, *LIMIT_FIELDS, *SNIPER_FIELDS)
QUOTE_ID_PATTERN = r"^q_[0-9a-f]{32}$"
_QUOTE_ID = re.compile(QUOTE_ID_PATTERN)
MARKET, LIMIT = "market", "limit"
ORDER_TYPES = (MARKET, LIMIT, SNIPER)
WAITING_TYPES = (LIMIT, SNIPER)  # the types that wait for a trigger before they trade
MAX_CLIENT_ORDER_ID = 64
IDEMPOTENCY_KEY = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY = 255
CORRELATION_ID = "x-correlation-id"
MAX_CORRELATION_ID = 128
# Free text without control characters (C0, DEL, C1); a lone surrogate (not UTF-8) is refused too, at the wire.
CLIENT_ORDER_ID_PATTERN = rf"^[^\x00-\x1f\x7f-\x9f]{{1,{MAX_CLIENT_ORDER_ID}}}$"
_SURROGATE = re.compile("[\ud800-\udfff]")
# Visible ASCII, as HTTP header values travel everywhere unchanged (IETF draft: the key is a string).
IDEMPOTENCY_KEY_PATTERN = rf"^[!-~]{{1,{MAX_IDEMPOTENCY_KEY}}}$"
# An order id as this API writes it (RFC 9562 text form, either case): the OpenAPI `format: uuid`.
ORDER_ID_PATTERN = r"^[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$"
_CLIENT_ORDER_ID = re.compile(CLIENT_ORDER_ID_PATTERN)
_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
CORRELATION_ID_PATTERN = rf"^[!-~]{{1,{MAX_CORRELATION_ID}}}$"  # it is written into every log line: no spaces
_CORRELATION_ID = re.compile(CORRELATION_ID_PATTERN)


@dataclass(frozen=True)
class OrderRequest:
    token_in: Token
    token_out: Token
    amount_in: int  # base units of token_in
    slippage_bps: int
    order_type: str = "market"
    client_order_id: str | None = None
    limit: LimitTerms | None = None
    expiry_as_given: str | None = None  # "ttl:<s>" or "at:<iso>": a replay of a ttlSeconds body is the same body
    sniper: SniperTerms | None = None
    dynamic_slippage: SlippageBounds | None = None  # the engine picks slippage_bps within these at build time
    quote_id: str | None = None
    quote: QuoteTerms | None = None  # the quote quote_id names, once the submit service found it

    @property
    def expires_at(self) -> datetime | None:
        terms = self.limit or self.sniper
        return None if terms is None else terms.expires_at

    def fingerprint(self) -> str:
        """What makes two submits 'the same body' for idempotency: the normalised order, not its spelling."""
        parts: list[Any] = [self.token_in.mint, self.token_out.mint, self.amount_in, self.slippage_bps,
                            self.order_type, self.client_order_id]
        if self.limit is not None:
            parts += [format(self.limit.limit_price.normalize(), "f"), self.expiry_as_given]
        if self.sniper is not None:
            parts += [price_text(self.sniper.max_price), self.expiry_as_given]
        if self.dynamic_slippage is not None or self.quote_id is not None:  # older orders' fingerprints unchanged
            dynamic = self.dynamic_slippage
            parts += [None if dynamic is None else [dynamic.min_bps, dynamic.max_bps], self.quote_id]
        canonical = json.dumps(parts, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def parse_order_request(body: Mapping[str, Any], *, default_slippage_bps: int, max_slippage_bps: int,
                        max_ttl_s: int = 7 * 86_400, now: datetime | None = None) -> OrderRequest:
    whole = [f for f in WHOLE_SHAPE if body.get(f) is not None]
    base = [f for f in BASE_UNIT_SHAPE if body.get(f) is not None]
    if whole and base:
        raise InvalidField(
            base[0], "one_shape",
            f"Use either {'/'.join(WHOLE_SHAPE)} or {'/'.join(BASE_UNIT_SHAPE)}, not both (got {whole[0]} and {base[0]}).",
        )
    in_field, out_field, amount_field = BASE_UNIT_SHAPE if base else WHOLE_SHAPE
    for name in (in_field, out_field, amount_field):
        if body.get(name) is None:
            raise InvalidField(name, "required", f"{name} is required.")
    token_in = resolve_token(in_field, body[in_field])
    token_out = resolve_token(out_field, body[out_field])
    if token_in == token_out:
        raise InvalidField(out_field, "distinct_tokens", f"{out_field} must differ from {in_field} (both are {token_in.symbol}).")
    if base:
        amount_in = parse_base_units(amount_field, body[amount_field], token_in)
    else:
        amount_in = whole_to_base_units(amount_field, body[amount_field], token_in)
    order_type = _order_type(body.get(ORDER_TYPE))
    dynamic = _dynamic_slippage(body.get(DYNAMIC_SLIPPAGE), max_slippage_bps)
    quote_id = parse_quote_id(body.get(QUOTE_ID))
    if order_type != MARKET:
        for name, given in ((DYNAMIC_SLIPPAGE, dynamic), (QUOTE_ID, quote_id)):
            if given is not None:
                raise InvalidField(name, "market_only", f"{name} is for market orders only; a {order_type} "
                                                        "order's price bound is its own.")
    if dynamic is not None and body.get(SLIPPAGE_BPS) is not None:
        raise InvalidField(DYNAMIC_SLIPPAGE, "one_slippage",
                           f"Give {SLIPPAGE_BPS} or {DYNAMIC_SLIPPAGE}, not both.")
    if dynamic is not None and quote_id is not None:
        raise InvalidField(DYNAMIC_SLIPPAGE, "not_with_quote",
                           f"A {QUOTE_ID} fixes the slippage (its minAmountOut); leave {DYNAMIC_SLIPPAGE} out.")
    limit = sniper = expiry_as_given = None
    if order_type == LIMIT:
        refuse_sniper_fields(body, order_type)
        limit = parse_limit_terms(body, token_out, now or datetime.now(timezone.utc), max_ttl_s)
        slippage_bps = 0  # the limit price is the bound
    elif order_type == SNIPER:
        sniper = parse_sniper_terms(body, token_in, token_out, (in_field, out_field),
                                    now or datetime.now(timezone.utc), max_ttl_s)
        slippage_bps = 0  # the max price is the bound
    else:
        refuse_limit_fields(body)
        refuse_sniper_fields(body, order_type)
        # a dynamic order starts at its bound's maximum; the executor records the value it picks
        slippage_bps = dynamic.max_bps if dynamic else _slippage(body.get(SLIPPAGE_BPS), default_slippage_bps,
                                                                 max_slippage_bps)
    terms = limit or sniper
    if terms is not None:
        ttl = body.get(TTL_SECONDS)
        expiry_as_given = f"ttl:{ttl}" if ttl is not None else f"at:{terms.expires_at.isoformat()}"
    return OrderRequest(
        token_in=token_in,
        token_out=token_out,
        amount_in=amount_in,
        slippage_bps=slippage_bps,
        order_type=order_type,
        client_order_id=parse_client_order_id(body.get(CLIENT_ORDER_ID)),
        limit=limit,
        expiry_as_given=expiry_as_given,
        sniper=sniper,
        dynamic_slippage=dynamic,
        quote_id=quote_id,
    )


def _dynamic_slippage(value: Any, maximum: int) -> SlippageBounds | None:
    """`dynamicSlippage: {minBps, maxBps}`: integers, 0 <= minBps <= maxBps <= the maximum slippage."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidField(DYNAMIC_SLIPPAGE, "object", f"{DYNAMIC_SLIPPAGE} must be an object {{{MIN_BPS}, {MAX_BPS}}}.")
    unknown = sorted(set(value) - {MIN_BPS, MAX_BPS})
    if unknown:
        raise InvalidField(f"{DYNAMIC_SLIPPAGE}.{unknown[0]}", "extra_forbidden",
                           f"{DYNAMIC_SLIPPAGE} has only {MIN_BPS} and {MAX_BPS}; {unknown[0][:64]} is not one of them.")
    bounds = []
    for name in (MIN_BPS, MAX_BPS):
        field, bps = f"{DYNAMIC_SLIPPAGE}.{name}", value.get(name)
        if bps is None:
            raise InvalidField(field, "required", f"{field} is required.")
        if isinstance(bps, bool) or not isinstance(bps, int):
            raise InvalidField(field, "integer", f"{field} must be an integer number of basis points.")
        if not 0 <= bps <= maximum:
            raise InvalidField(field, "range", f"{field} must be between 0 and {maximum}.")
        bounds.append(bps)
    if bounds[0] > bounds[1]:
        raise InvalidField(DYNAMIC_SLIPPAGE, "min_not_above_max",
                           f"{DYNAMIC_SLIPPAGE}.{MIN_BPS} ({bounds[0]}) must not exceed {MAX_BPS} ({bounds[1]}).")
    return SlippageBounds(*bounds)


def parse_quote_id(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _QUOTE_ID.fullmatch(value):
        raise InvalidField(QUOTE_ID, "format", f"{QUOTE_ID} must be an id GET /api/quote returned (q_ and 32 hex digits).")
    return value


def _slippage(value: Any, default: int, maximum: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidField(SLIPPAGE_BPS, "integer", f"{SLIPPAGE_BPS} must be an integer number of basis points.")
    if not 0 <= value <= maximum:
        raise InvalidField(SLIPPAGE_BPS, "range", f"{SLIPPAGE_BPS} must be between 0 and {maximum}.")
    return value


def _order_type(value: Any) -> str:
    if value is None:
        return "market"
    if value not in ORDER_TYPES:
        raise InvalidField(ORDER_TYPE, "supported_type",
                           f"{ORDER_TYPE} must be one of: {', '.join(ORDER_TYPES)} (other order types are not implemented).")
    return value


def parse_client_order_id(value: Any) -> str | None:
    """A clientOrderId (in a submit body, or a history filter): 1 to 64 characters, none of them control characters."""
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_CLIENT_ORDER_ID:
        raise InvalidField(CLIENT_ORDER_ID, "length",
                           f"{CLIENT_ORDER_ID} must be a string of 1 to {MAX_CLIENT_ORDER_ID} characters.")
    if not _CLIENT_ORDER_ID.fullmatch(value) or _SURROGATE.search(value):
        raise InvalidField(CLIENT_ORDER_ID, "characters",
                           f"{CLIENT_ORDER_ID} must not contain control characters or unpaired surrogates.")
    return value


def parse_correlation_id(value: str | None) -> str | None:
    """A client's x-correlation-id header: 1 to 128 visible ASCII characters, or None when absent."""
    if value is None:
        return None
    if not _CORRELATION_ID.fullmatch(value):
        raise InvalidField(CORRELATION_ID, "visible_ascii",
                           f"{CORRELATION_ID} must be 1 to {MAX_CORRELATION_ID} visible ASCII characters (no spaces).")
    return value


def parse_idempotency_key(value: str | None) -> str | None:
    """An Idempotency-Key header: 1 to 255 visible ASCII characters, or None when absent."""
    if value is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(value):
        raise InvalidField(IDEMPOTENCY_KEY, "visible_ascii",
                           f"{IDEMPOTENCY_KEY} must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters (no spaces).")
    return value


@dataclass(frozen=True)
class Order:
    """An order as stored."""

    id: str
    status: Status
    token_in_mint: str
    token_out_mint: str
    amount_in: int
    slippage_bps: int
    order_type: str
    attempts: int
    seq: int
    created_at: datetime
    updated_at: datetime
    client_order_id: str | None = None
    dex: str | None = None
    executed_price: str | None = None
    amount_out: int | None = None
    min_amount_out: int | None = None
    tx_hash: str | None = None
    error: str | None = None
    completed_at: datetime | None = None
    limit_price: str | None = None  # whole tokenOut per tokenIn; a limit order's fill returns at least this rate
    expires_at: datetime | None = None  # a waiting order not triggered by then ends expired
    max_price: str | None = None  # whole tokenIn per tokenOut; a sniper order's fill pays at most this
    correlation_id: str | None = None  # from the submit request: on every log line about the order
    dynamic_slippage: SlippageBounds | None = None
    quote: dict[str, Any] | None = None  # the terms of the quote it executes by (QuoteTerms.to_record())

    @property
    def token_in(self) -> Token:
        return by_mint(self.token_in_mint)

    @property
    def limit_min_amount_out(self) -> int | None:
        """The least output a fill of this limit order may return (None: not a limit order)."""
        if self.limit_price is None:
            return None
        return limit_min_amount_out(self.amount_in, Decimal(self.limit_price), self.token_in, by_mint(self.token_out_mint))

    @property
    def floor_amount_out(self) -> int | None:
        """The least output its own terms allow a fill to return: a limit order's limit price, a sniper order's
        max price (None: a market order, bounded by its slippage from the quote instead)."""
        if self.max_price is not None:
            return sniper_min_amount_out(self.amount_in, Fraction(self.max_price), self.token_in, self.token_out)
        return self.limit_min_amount_out

    @property
    def floor_reason(self) -> str:
        return f"{MAX_PRICE} {self.max_price}" if self.max_price is not None else f"limit price {self.limit_price}"

    @property
    def token_out(self) -> Token:
        return by_mint(self.token_out_mint)

    def to_api(self) -> dict[str, Any]:
        """The order object of API.md: decimals and base-unit amounts as strings."""
        return {
            "orderId": self.id,
            "status": str(self.status),
            "type": self.order_type,
            "tokenIn": self.token_in.symbol,
            "tokenOut": self.token_out.symbol,
            "inputMint": self.token_in_mint,
            "outputMint": self.token_out_mint,
            "amountIn": str(self.amount_in),
            "amount": to_decimal_string(self.amount_in, self.token_in),
            "slippageBps": self.slippage_bps,
            "dynamicSlippage": None if self.dynamic_slippage is None else self.dynamic_slippage.to_api(),
            "quoteId": None if self.quote is None else self.quote["quoteId"],
            "clientOrderId": self.client_order_id,
            "dex": self.dex,
            "executedPrice": self.executed_price,
            "amountOut": None if self.amount_out is None else str(self.amount_out),
            "minAmountOut": None if self.min_amount_out is None else str(self.min_amount_out),
            "txHash": self.tx_hash,
            "attempts": self.attempts,
            "error": self.error,
            "createdAt": _iso(self.created_at),
            "updatedAt": _iso(self.updated_at),
            "completedAt": _iso(self.completed_at),
            LIMIT_PRICE: self.limit_price,
            EXPIRES_AT: _iso(self.expires_at),
            MAX_PRICE: self.max_price,
        }


@dataclass(frozen=True)
class OrderEvent:
    """One step of an order's timeline; `seq` increases by one per event of an order, from 1."""

    order_id: str
    seq: int
    status: Status
    attempt: int
    at: datetime
    detail: dict[str, Any]

    def to_api(self) -> dict[str, Any]:
        return {"seq": self.seq, "status": str(self.status), "attempt": self.attempt, "at": _iso(self.at), **self.detail}

    def to_message(self) -> dict[str, Any]:
        """The WebSocket frame of API.md: one per event, the same for live fan-out and replay."""
        return {"type": "status", "orderId": self.order_id, **self.to_api()}


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class HistoryPosition:
    """Where a page of the history (newest first) ended: the last order's creation time and id."""

    created_at: datetime
    order_id: str


def pending_detail(request: OrderRequest) -> dict[str, Any]:
    """The detail of an order's first event, `pending`."""
    detail = {
        "tokenIn": request.token_in.symbol,
        "tokenOut": request.token_out.symbol,
        "amountIn": str(request.amount_in),
        "slippageBps": request.slippage_bps,
        **({"dynamicSlippage": request.dynamic_slippage.to_api()} if request.dynamic_slippage else {}),
        **({"quoteId": request.quote_id} if request.quote_id else {}),
    }
    if request.limit is not None:
        # `orderType`, not `type`: an event frame's `type` is "status" (to_message), which a detail must not replace
        detail.update(orderType=request.order_type, limitPrice=format(request.limit.limit_price, "f"),
                      expiresAt=_iso(request.limit.expires_at))
    if request.sniper is not None:
        detail.update(orderType=request.order_type, maxPrice=price_text(request.sniper.max_price),
                      expiresAt=_iso(request.sniper.expires_at))
    return detail


def check_quote(request: OrderRequest, terms: QuoteTerms | None, now_ms: int, slippage_asked: Any) -> None:
    """Refuse an order whose quote is unknown, expired, or for another pair or amount than the order (or with
    another slippage than the quote's: `slippage_asked` is the body's slippageBps, None when left out)."""
    quote_id = request.quote_id
    if terms is None:
        raise QuoteNotFound(f"No quote {quote_id} exists; get a new one from GET /api/quote.",
                            [{"field": QUOTE_ID, "rule": "known", "message": "no such quote"}])
    if now_ms >= terms.expires_at_ms:
        age_s = (now_ms - terms.expires_at_ms) / 1000
        raise QuoteExpired(f"Quote {quote_id} expired {age_s:.1f} s ago; get a new one from GET /api/quote.",
                           [{"field": QUOTE_ID, "rule": "not_expired", "expiresAt": terms.expires_at_ms}])
    if (request.token_in.mint, request.token_out.mint) != (terms.input_mint, terms.output_mint):
        raise InvalidField(QUOTE_ID, "same_pair",
                           f"{QUOTE_ID} {quote_id} quoted {by_mint(terms.input_mint).symbol} -> "
                           f"{by_mint(terms.output_mint).symbol}, not {request.token_in.symbol} -> "
                           f"{request.token_out.symbol}.")
    if request.amount_in != terms.amount_in:
        raise InvalidField(QUOTE_ID, "same_amount",
                           f"{QUOTE_ID} {quote_id} quoted {terms.amount_in} base units of "
                           f"{request.token_in.symbol}, not {request.amount_in}.")
    if slippage_asked is not None and slippage_asked != terms.slippage_bps:
        raise InvalidField(SLIPPAGE_BPS, "same_as_quote",
                           f"{SLIPPAGE_BPS} must be the quote's ({terms.slippage_bps}) or left out: the quote fixed "
                           f"the minimum output.")
