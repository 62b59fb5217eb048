"""Request and response models: Powertools validates bodies with them and generates the OpenAPI document from
them. They check shape and types; the domain (parse_order_request) checks the grammar and the business rules, and
the document states that grammar with the domain's own patterns, so the two cannot drift apart."""
from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, InstanceOf, StrictInt, StrictStr, WithJsonSchema

from order_engine.config import settings
from order_engine.domain.orders import (BASE_UNIT_SHAPE, CLIENT_ORDER_ID, CLIENT_ORDER_ID_PATTERN,
                                        DYNAMIC_SLIPPAGE, MAX_BPS, MIN_BPS, ORDER_TYPE, ORDER_TYPES, QUOTE_ID,
                                        QUOTE_ID_PATTERN, SLIPPAGE_BPS, WHOLE_SHAPE)
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

_COMMON = (SLIPPAGE_BPS, DYNAMIC_SLIPPAGE, QUOTE_ID, ORDER_TYPE, CLIENT_ORDER_ID)


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
                             "(same_pair, same_amount), and slippageBps, when given, is the quote's (same_as_quote). "
                             + NO_EXPONENT).strip()


_BPS = {"type": "integer", "minimum": 0, "maximum": settings().max_slippage_bps}
DynamicSlippage = Annotated[dict, WithJsonSchema({
    "type": "object", "required": [MIN_BPS, MAX_BPS], "additionalProperties": False,
    "properties": {MIN_BPS: _BPS, MAX_BPS: _BPS},
    "description": "Let the engine pick the slippage within these bounds, from the pool's recent volatility and "
                   f"the order's price impact (instead of {SLIPPAGE_BPS}); the value it picked is the order's "
                   f"{SLIPPAGE_BPS} once built"})]


class ExecuteOrderRequest(BaseModel):
    """A market swap, in either seed shape: tokenIn/tokenOut/amount (whole tokens) or inputMint/outputMint/amountIn
    (base units). Tokens by symbol (SOL, USDC, USDT) or mint address."""

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
    order_type: Literal[ORDER_TYPES] = Field(None, alias=ORDER_TYPE, description="Order type; only market orders are implemented")
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
    status: str
    attempt: int
    at: str


class OrderView(BaseModel):
    orderId: str
    status: str
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
    status: Optional[str] = Field(description="The order's status now (None when there is no such order)")
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
    unfinished: int = Field(description="Orders PostgreSQL holds in a non-terminal status")


class TokenInfo(BaseModel):
    symbol: str
    mint: str
    decimals: int
    maxAmount: str = Field(description="The largest amount of this token one order may carry, in whole tokens")


class PageConfig(BaseModel):
    wsUrl: str = Field(description="The WebSocket API's URL (subscribe there for live order events)")
    tokens: list[TokenInfo]
    defaultSlippageBps: int
    maxSlippageBps: int
