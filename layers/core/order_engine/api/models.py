"""Request and response models: Powertools validates bodies with them and generates the OpenAPI document from
them. They check shape and types; the domain (parse_order_request) checks the business rules."""
from __future__ import annotations

from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

WholeAmount = Union[StrictInt, StrictFloat, StrictStr]
BaseUnitAmount = Union[StrictInt, StrictStr]


class ExecuteOrderRequest(BaseModel):
    """A market swap, in either seed shape: tokenIn/tokenOut/amount (whole tokens) or inputMint/outputMint/amountIn
    (base units). Tokens by symbol (SOL, USDC, USDT) or mint address."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1},
                     {"inputMint": "SOL", "outputMint": "USDC", "amountIn": 1000000000}]})

    tokenIn: Optional[StrictStr] = Field(None, description="Input token symbol or mint")
    tokenOut: Optional[StrictStr] = Field(None, description="Output token symbol or mint")
    amount: Optional[WholeAmount] = Field(None, description="Whole tokens of tokenIn: a number or decimal string")
    inputMint: Optional[StrictStr] = Field(None, description="Input token symbol or mint")
    outputMint: Optional[StrictStr] = Field(None, description="Output token symbol or mint")
    amountIn: Optional[BaseUnitAmount] = Field(None, description="Base units of inputMint: an integer or digit string")
    slippageBps: Optional[StrictInt] = Field(None, description="Slippage bound in basis points (default 50, max 5000)")
    type: Optional[Literal["market"]] = Field(None, description="Order type; only market orders are implemented")
    clientOrderId: Optional[StrictStr] = Field(None, max_length=64)


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
