"""Request and response models: Powertools validates bodies with them and generates the OpenAPI document from
them. They check shape and types; the domain (parse_order_request) checks the grammar and the business rules, and
the document states that grammar with the domain's own patterns, so the two cannot drift apart."""
from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, InstanceOf, StrictInt, StrictStr, WithJsonSchema

from order_engine.config import settings
from order_engine.domain import listings as listing_fields
from order_engine.domain.lifecycle import Status
from order_engine.domain.listings import MAX_LISTING_AHEAD_S, MAX_LIQUIDITY, MIN_LIQUIDITY, VENUE_CHOICES
from order_engine.domain.prices import MAX_PRICE_CHARS, MAX_PRICE_DECIMALS, POSITIVE_PRICE_PATTERN
from order_engine.domain.order import (BASE_UNIT_SHAPE, CLIENT_ORDER_ID, CLIENT_ORDER_ID_PATTERN,
                                        DYNAMIC_SLIPPAGE, MAX_BPS, MIN_BPS, ORDER_TYPE, ORDER_TYPES, QUOTE_ID,
                                        QUOTE_ID_PATTERN, SLIPPAGE_BPS, WHOLE_SHAPE)
from order_engine.domain.limit_orders import EXPIRES_AT, LIMIT_FIELDS, LIMIT_PRICE, LIMIT_PRICE_PATTERN, TTL_SECONDS
from order_engine.domain.sniper_orders import MAX_PRICE, SNIPER_FIELDS
from order_engine.domain.tokens import (MAX_AMOUNT_CHARS, POSITIVE_BASE_UNITS_PATTERN, POSITIVE_WHOLE_AMOUNT_PATTERN,
                                        TOKENS, Numeral, token_pattern)

TOKEN_IN, TOKEN_OUT, AMOUNT = WHOLE_SHAPE
INPUT_MINT, OUTPUT_MINT, AMOUNT_IN = BASE_UNIT_SHAPE
NO_EXPONENT = "JSON numbers are written plainly (digits, an optional fraction; no exponent)."

_TOKEN = {"type": "string", "pattern": token_pattern(),
          "description": "A token symbol (any case) or mint address: " + ", ".join(t.symbol for t in TOKENS)}
WholeAmount = Annotated[Union[StrictInt, InstanceOf[Numeral], StrictStr], WithJsonSchema({
    "anyOf": [{"type": "number", "exclusiveMinimum": 0, "maximum": max(t.max_amount for t in TOKENS)},
              {"type": "string", "pattern": POSITIVE_WHOLE_AMOUNT_PATTERN, "maxLength": MAX_AMOUNT_CHARS}],
    "description": "Whole tokens of tokenIn: a number or a decimal string of ASCII digits with an optional "
                   "fraction, at most the token's decimals and its per-order maximum. " + NO_EXPONENT})]
BaseUnitAmount = Annotated[Union[StrictInt, StrictStr], WithJsonSchema({
    "anyOf": [{"type": "integer", "minimum": 1, "maximum": max(t.max_base_units for t in TOKENS)},
              {"type": "string", "pattern": POSITIVE_BASE_UNITS_PATTERN, "maxLength": MAX_AMOUNT_CHARS}],
    "description": "Base units of inputMint: an integer or a string of ASCII digits, at most the token's "
                   "per-order maximum."})]
Token = Annotated[StrictStr, WithJsonSchema(_TOKEN)]

_COMMON = (SLIPPAGE_BPS, DYNAMIC_SLIPPAGE, QUOTE_ID, ORDER_TYPE, CLIENT_ORDER_ID, *LIMIT_FIELDS, *SNIPER_FIELDS)


def _two_shapes(schema: dict[str, Any]) -> None:
    """The body is one of the two seed shapes, never a mix: say so with oneOf, each branch closed."""
    properties = schema.pop("properties")
    for prop in properties.values():
        prop.pop("default", None)  # absent, never null
        prop.pop("title", None)
    properties[SLIPPAGE_BPS] = {"type": "integer", "minimum": 0, "maximum": settings().max_slippage_bps,
                                "description": f"Slippage bound in basis points (default {settings().default_slippage_bps})"}
    schema.pop("additionalProperties", None)
    exclusive = [{"not": {"required": [SLIPPAGE_BPS, DYNAMIC_SLIPPAGE]}}, {"not": {"required": [DYNAMIC_SLIPPAGE, QUOTE_ID]}}]
    schema["oneOf"] = [
        {"title": title, "type": "object", "required": list(shape), "additionalProperties": False,
         "properties": {name: properties[name] for name in (*shape, *_COMMON)}, "allOf": exclusive}
        for title, shape in (("WholeTokenOrder", WHOLE_SHAPE), ("BaseUnitOrder", BASE_UNIT_SHAPE))]
    schema["description"] = (schema.get("description", "") + " Rules the schema cannot state, refused with 400 "
                             "naming the rule: tokenOut differs from tokenIn (distinct_tokens); the amount has at "
                             "most tokenIn's decimals (decimals) and is at most its per-order maximum (maximum); "
                             f"{DYNAMIC_SLIPPAGE}.{MIN_BPS} is at most its {MAX_BPS} (min_not_above_max); "
                             f"a {QUOTE_ID} names a quote "
                             "still valid (404 quote_not_found, 410 quote_expired) for the same pair and amount "
                             "(same_pair, same_amount), and slippageBps, when given, is the quote's (same_as_quote); "
                             f"{DYNAMIC_SLIPPAGE} and {QUOTE_ID} are for market orders only (market_only). "
                             "A limit order (type \"limit\") needs limitPrice, with at most tokenOut's decimals "
                             "(decimals) and above zero (positive), and one expiry: expiresAt in the future (future) "
                             "and at most the maximum ahead (maximum), or ttlSeconds (range), not both (one_expiry); "
                             "slippageBps is for market orders only (market_only), and the limit fields for limit "
                             "orders only (limit_only). A sniper order (type \"sniper\") buys a listable token "
                             "(not_listed: one whose pair has no pool yet) with a token that already trades "
                             "(quote_token), needs maxPrice (decimals, positive) and one expiry as a limit order; "
                             "slippageBps (market_only) and limitPrice (limit_only) are refused on it, and maxPrice "
                             "on other types (sniper_only). "
                             + NO_EXPONENT).strip()


_BPS = {"type": "integer", "minimum": 0, "maximum": settings().max_slippage_bps}
DynamicSlippage = Annotated[dict, WithJsonSchema({
    "type": "object", "required": [MIN_BPS, MAX_BPS], "additionalProperties": False,
    "properties": {MIN_BPS: _BPS, MAX_BPS: _BPS},
    "description": "Let the engine pick the slippage within these bounds, from the pool's recent volatility and "
                   f"the order's price impact (instead of {SLIPPAGE_BPS}); the value it picked is the order's "
                   f"{SLIPPAGE_BPS} once built"})]


class ExecuteOrderRequest(BaseModel):
    """A market, limit or sniper swap, in either seed shape: tokenIn/tokenOut/amount (whole tokens) or
    inputMint/outputMint/amountIn (base units). Tokens by symbol (SOL, USDC, USDT, and the listable NOVA, ORBIT,
    PULSE) or mint address."""

    # the wire names are the domain's (aliases). A field may be absent but never null (no `Optional`).
    model_config = ConfigDict(extra="forbid", json_schema_extra=_two_shapes)

    token_in: Token = Field(None, alias=TOKEN_IN)
    token_out: Token = Field(None, alias=TOKEN_OUT)
    amount: WholeAmount = Field(None, alias=AMOUNT)
    input_mint: Token = Field(None, alias=INPUT_MINT)
    output_mint: Token = Field(None, alias=OUTPUT_MINT)
    amount_in: BaseUnitAmount = Field(None, alias=AMOUNT_IN)
    slippage_bps: StrictInt = Field(None, alias=SLIPPAGE_BPS)
    dynamic_slippage: DynamicSlippage = Field(None, alias=DYNAMIC_SLIPPAGE)
    quote_id: Annotated[StrictStr, WithJsonSchema({
        "type": "string", "pattern": QUOTE_ID_PATTERN,
        "description": "Execute on this quote's route with its minAmountOut (GET /api/quote)"})] = Field(None, alias=QUOTE_ID)
    order_type: Literal[ORDER_TYPES] = Field(None, alias=ORDER_TYPE, description="Order type: market (default), limit or sniper")
    limit_price: Annotated[StrictStr, WithJsonSchema({
        "type": "string", "pattern": LIMIT_PRICE_PATTERN, "maxLength": MAX_AMOUNT_CHARS,
        "description": "Limit orders: the least price, whole tokenOut per whole tokenIn, as a decimal string "
                       "with at most tokenOut's decimals; the fill returns at least amount x limitPrice"})] = Field(None, alias=LIMIT_PRICE)
    expires_at: Annotated[StrictStr, WithJsonSchema({
        "type": "string", "format": "date-time",
        "description": f"Limit and sniper orders: when an untriggered order ends expired (ISO-8601 with a time zone), at most "
                       f"{settings().limit_max_ttl_s} s ahead; or give ttlSeconds"})] = Field(None, alias=EXPIRES_AT)
    ttl_seconds: Annotated[StrictInt, WithJsonSchema({
        "type": "integer", "minimum": 1, "maximum": settings().limit_max_ttl_s,
        "description": "Limit and sniper orders: seconds until an untriggered order ends expired; or give expiresAt"})] = Field(None, alias=TTL_SECONDS)
    max_price: Annotated[StrictStr, WithJsonSchema({
        "type": "string", "pattern": POSITIVE_PRICE_PATTERN, "maxLength": MAX_PRICE_CHARS,
        "description": f"Sniper orders: the most one tokenOut may cost, whole tokenIn per whole tokenOut, as a "
                       f"decimal string (at most {MAX_PRICE_DECIMALS} decimals); the fill returns at least "
                       f"amount / maxPrice"})] = Field(None, alias=MAX_PRICE)
    client_order_id: Annotated[StrictStr, WithJsonSchema({"type": "string", "pattern": CLIENT_ORDER_ID_PATTERN,
                                                          "description": "Your reference, 1 to 64 characters"})] = Field(None, alias=CLIENT_ORDER_ID)


class ExecuteOrderResponse(BaseModel):
    orderId: str
    status: Literal["accepted"]
    wsUrl: str
    queued: bool = Field(description="False when the queue was down: the order is durable and will be queued by the reconciler")


class OrderEventView(BaseModel):
    model_config = ConfigDict(extra="allow")
    seq: int
    status: Status
    attempt: int
    at: str


class OrderView(BaseModel):
    orderId: str
    status: Status
    type: str
    tokenIn: str
    tokenOut: str
    inputMint: str
    outputMint: str
    amountIn: str
    amount: str
    slippageBps: int = Field(description="The slippage the swap is built with (with dynamicSlippage: the value the "
                                         "engine picked, its maxBps until the order is built)")
    dynamicSlippage: Optional[dict[str, int]] = Field(description="{minBps, maxBps} when the engine picks the slippage")
    quoteId: Optional[str] = Field(description="The quote the order executes by")
    clientOrderId: Optional[str]
    dex: Optional[str]
    executedPrice: Optional[str]
    amountOut: Optional[str]
    minAmountOut: Optional[str]
    txHash: Optional[str]
    attempts: int
    error: Optional[str]
    createdAt: str
    updatedAt: str
    completedAt: Optional[str]
    limitPrice: Optional[str] = Field(description="Limit orders: the least price, tokenOut per tokenIn")
    expiresAt: Optional[str] = Field(description="Limit and sniper orders: when it expires if its trigger has not fired")
    maxPrice: Optional[str] = Field(description="Sniper orders: the most one tokenOut may cost, in tokenIn")


class OrderWithEvents(OrderView):
    events: list[OrderEventView]


class HistoryResponse(BaseModel):
    orders: list[OrderView]
    nextCursor: Optional[str]


class QuoteLeg(BaseModel):
    venue: str
    amountIn: str
    amountOut: str
    percent: int
    priceImpactBps: int


class QuoteRoute(BaseModel):
    dex: str = Field(description="raydium, meteora, or raydium+meteora for a split")
    legs: list[QuoteLeg]
    reason: str = Field(description="Why this route, in whole tokens and percent")


class VenueQuote(BaseModel):
    venue: str
    amountIn: str
    amountOut: str = Field(description="After fees and price impact, base units")
    fee: str
    priceImpactBps: int
    volatilityBps: int = Field(description="How far the venue's price may move before a swap lands")


class FailedVenue(BaseModel):
    venue: str
    reason: str


class QuoteResponse(BaseModel):
    quoteId: str = Field(description="Execute by it (POST /api/orders/execute with quoteId) until expiresAt")
    tokenIn: str
    tokenOut: str
    inputMint: str
    outputMint: str
    amountIn: str
    amount: str
    slippageBps: int
    expectedAmountOut: str
    minAmountOut: str = Field(description="The least the swap accepts, base units: what an order by this quote is held to")
    minAmount: str = Field(description="minAmountOut in whole tokens")
    priceImpactBps: int
    route: QuoteRoute
    quotes: list[VenueQuote] = Field(description="Each venue's quote for the whole amount")
    failedVenues: list[FailedVenue]
    quotedAt: int = Field(description="Epoch milliseconds")
    expiresAt: int = Field(description="Epoch milliseconds")


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict]


class ErrorResponse(BaseModel):
    error: ErrorBody


class DeadLetter(BaseModel):
    entry: str = Field(description="What was on the queue (an order id, or a corrupt entry)")
    orderId: Optional[str]
    reason: str
    at: str
    status: Optional[Status] = Field(description="The order's status now (None when there is no such order)")
    retryable: bool


class DeadLetters(BaseModel):
    deadLetters: list[DeadLetter]


class RetryResponse(BaseModel):
    orderId: str
    requeuedFrom: Literal["failed", "dead_letter"]
    order: OrderView


class HealthChecks(BaseModel):
    postgresql: Literal["ok"]
    redis: Literal["ok"]


class HealthResponse(BaseModel):
    status: Literal["ok"]
    checks: HealthChecks


class QueueStats(BaseModel):
    ready: int = Field(description="Orders waiting for an executor")
    inFlight: int = Field(description="Orders an executor holds a lease on")
    delayed: int = Field(description="Orders waiting out a retry backoff")
    deadLettered: int = Field(description="Entries on the dead-letter list")
    peakInFlight: int = Field(description="The most orders in flight at once, as the executors measured it")
    confirmed: int
    failed: int
    cancelled: int
    expired: int
    waiting: int = Field(description="Limit and sniper orders waiting for their trigger (not on the queue)")
    unfinished: int = Field(description="Orders PostgreSQL holds in a non-terminal status (waiting ones included)")


class TokenInfo(BaseModel):
    symbol: str
    mint: str
    decimals: int
    maxAmount: str = Field(description="The largest amount of this token one order may carry, in whole tokens")


class Lifecycle(BaseModel):
    statuses: list[Status] = Field(description="Every status, in lifecycle order")
    terminal: list[Status] = Field(description="The statuses an order never leaves")
    cancellable: list[Status] = Field(description="The statuses DELETE /api/orders/{orderId} cancels from")


class PageConfig(BaseModel):
    wsUrl: str = Field(description="The WebSocket API's URL (subscribe there for live order events)")
    tokens: list[TokenInfo]
    lifecycle: Lifecycle
    defaultSlippageBps: int
    maxSlippageBps: int


_LISTABLE = tuple(t for t in TOKENS if t.listable)
_QUOTES = tuple(t for t in TOKENS if not t.listable)


def _listing_schema(schema: dict[str, Any]) -> None:
    schema["not"] = {"required": [listing_fields.AT, listing_fields.IN_SECONDS]}
    schema["description"] = (schema.get("description", "") + " Rules the schema cannot state, refused with 400 "
                             "naming the rule: at is not in the past (not_past) and at most 7 days ahead "
                             "(maximum); price has at most 18 decimals (decimals).").strip()


class ListingRequest(BaseModel):
    """A listing event of the simulated market: pools for a new token, created at a slot of your choosing. Until
    that slot the pair has no pool (quotes fail with no_pool); from it on it trades. One listing per pair."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_listing_schema)

    token: Annotated[StrictStr, WithJsonSchema({"type": "string", "pattern": token_pattern(_LISTABLE), "description":
                     "The new token (listable: " + ", ".join(t.symbol for t in _LISTABLE) + ")"})] = Field(
        alias=listing_fields.TOKEN)
    quote_token: Annotated[StrictStr, WithJsonSchema({
        "type": "string", "pattern": token_pattern(_QUOTES),
        "description": "What the new token is priced in and traded against: " + ", ".join(t.symbol for t in _QUOTES)
    })] = Field(alias=listing_fields.QUOTE_TOKEN)
    venue: Literal[VENUE_CHOICES] = Field(None, alias=listing_fields.VENUE,
                                          description="Where the pools are created (default both)")
    price: Annotated[StrictStr, WithJsonSchema({
        "type": "string", "pattern": POSITIVE_PRICE_PATTERN, "maxLength": MAX_PRICE_CHARS,
        "description": f"Whole quoteToken per whole token at listing, a decimal string (at most "
                       f"{MAX_PRICE_DECIMALS} decimals)"})] = Field(alias=listing_fields.PRICE)
    liquidity: StrictInt = Field(alias=listing_fields.LIQUIDITY, ge=MIN_LIQUIDITY, le=MAX_LIQUIDITY,
                                 description="Whole quoteToken of value in each pool at listing")
    at: Annotated[StrictStr, WithJsonSchema({"type": "string", "format": "date-time", "description":
                  "When the pools are created (RFC 3339, not in the past, at most 7 days ahead); they exist from "
                  "the slot that time falls in. Give at or inSeconds (neither: now)"})] = Field(
        None, alias=listing_fields.AT)
    in_seconds: StrictInt = Field(None, alias=listing_fields.IN_SECONDS, ge=0, le=MAX_LISTING_AHEAD_S,
                                  description="When the pools are created, in seconds from now")


class ListingView(BaseModel):
    pair: str
    token: str
    tokenMint: str
    quoteToken: str
    venues: list[str]
    price: str
    liquidity: str
    slot: int = Field(description="The first slot in which the pools exist")
    listsAt: str = Field(description="When that slot starts")
    listed: bool = Field(description="Whether the pools exist now")


class Listings(BaseModel):
    listings: list[ListingView]
