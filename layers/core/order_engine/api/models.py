"""Request and response models: Powertools validates bodies with them and generates the OpenAPI document from
them. They check shape and types; the domain (parse_order_request) checks the business rules."""
from __future__ import annotations

from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from order_engine.domain.orders import (BASE_UNIT_SHAPE, CLIENT_ORDER_ID, MAX_CLIENT_ORDER_ID, ORDER_TYPE, ORDER_TYPES,
                                        SLIPPAGE_BPS, WHOLE_SHAPE)

WholeAmount = Union[StrictInt, StrictFloat, StrictStr]
BaseUnitAmount = Union[StrictInt, StrictStr]
TOKEN_IN, TOKEN_OUT, AMOUNT = WHOLE_SHAPE
INPUT_MINT, OUTPUT_MINT, AMOUNT_IN = BASE_UNIT_SHAPE


class ExecuteOrderRequest(BaseModel):
    """A market swap, in either seed shape: tokenIn/tokenOut/amount (whole tokens) or inputMint/outputMint/amountIn
    (base units). Tokens by symbol (SOL, USDC, USDT) or mint address."""

    # the wire names are the domain's (aliases); dump with by_alias=True to hand a body to the domain
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{TOKEN_IN: "SOL", TOKEN_OUT: "USDC", AMOUNT: 1},
                     {INPUT_MINT: "SOL", OUTPUT_MINT: "USDC", AMOUNT_IN: 1000000000}]})

    token_in: Optional[StrictStr] = Field(None, alias=TOKEN_IN, description="Input token symbol or mint")
    token_out: Optional[StrictStr] = Field(None, alias=TOKEN_OUT, description="Output token symbol or mint")
    amount: Optional[WholeAmount] = Field(None, alias=AMOUNT,
                                          description="Whole tokens of tokenIn: a number or decimal string")
    input_mint: Optional[StrictStr] = Field(None, alias=INPUT_MINT, description="Input token symbol or mint")
    output_mint: Optional[StrictStr] = Field(None, alias=OUTPUT_MINT, description="Output token symbol or mint")
    amount_in: Optional[BaseUnitAmount] = Field(None, alias=AMOUNT_IN,
                                                description="Base units of inputMint: an integer or digit string")
    slippage_bps: Optional[StrictInt] = Field(None, alias=SLIPPAGE_BPS,
                                              description="Slippage bound in basis points (default 50, max 5000)")
    order_type: Optional[Literal[ORDER_TYPES]] = Field(None, alias=ORDER_TYPE,
                                                       description="Order type; only market orders are implemented")
    client_order_id: Optional[StrictStr] = Field(None, alias=CLIENT_ORDER_ID, max_length=MAX_CLIENT_ORDER_ID)


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
    slippageBps: int
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


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict]


class ErrorResponse(BaseModel):
    error: ErrorBody


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
