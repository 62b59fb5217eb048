"""The routes of the HTTP API, as Powertools routers. Each Lambda function serves the routers template.yaml gives
it; the OpenAPI document is built from all of them (API_ROUTERS), so it describes every route whichever function
serves it, and the 405 guard answers from the same list."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header, Path as PathParam, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from order_engine.api.models import (DeadLetters, ErrorResponse, ExecuteOrderRequest, ExecuteOrderResponse,
                                     HealthResponse, HistoryResponse, ListingRequest, Listings, ListingView,
                                     OrderView, OrderWithEvents, PageConfig, QueueStats, QuoteResponse, RetryResponse)
from order_engine.api import telemetry
from order_engine.api.authorizer_context import caller
from order_engine.api.telemetry import logger, tracer
from order_engine.bootstrap import services
from order_engine.config import settings
from order_engine.domain.lifecycle import CANCELLABLE, TERMINAL, Status
from order_engine.domain.order import (CLIENT_ORDER_ID_PATTERN, CORRELATION_ID, CORRELATION_ID_PATTERN,
                                        IDEMPOTENCY_KEY_PATTERN, ORDER_ID_PATTERN)
from order_engine.domain.tokens import (MAX_AMOUNT_CHARS, POSITIVE_BASE_UNITS_PATTERN, POSITIVE_WHOLE_AMOUNT_PATTERN,
                                        TOKENS, token_pattern)
from order_engine.services.operator import MAX_DEAD_LETTERS

submit_router = APIGatewayHttpRouter()
orders_router = APIGatewayHttpRouter()
web_router = APIGatewayHttpRouter()  # what the tracking page (functions/web) needs besides the routes above
operator_router = APIGatewayHttpRouter()
_JSON = "application/json"


_ERROR_MEANINGS = {
    400: "Bad input: the message and details name the field and the rule (a header, query or path parameter "
         "holding a NUL character or text that is not UTF-8 is bad input on every route)",
    404: "No such order (or, for quoteId, no such quote)",
    409: "A conflict with what exists: the Idempotency-Key was used with a different order, the order is not in a "
         "state that can be retried or cancelled (the details give its status), or the pair already has a listing",
    410: "The quoteId has expired",
    413: f"The body is over {settings().max_body_bytes} bytes",
    415: "The body is not JSON",
    401: "No API key, or one that is unknown or revoked (Authorization: Bearer <key> or x-api-key)",
    403: "The API key may not use the operator routes",
    429: "The key's submit rate limit: Retry-After says in how many seconds a submit is accepted again",
    500: "A bug on our side",
    503: "PostgreSQL, Redis or (for a quote) the venues are unavailable (the code names which); nothing "
         "half-written remains",
}


def _errors(*statuses: int, open_route: bool = False) -> dict[int, dict[str, Any]]:
    """The error responses of a route: those given, 500, and 401 unless the route is open (needs no key)."""
    return {s: {"description": _ERROR_MEANINGS[s], "content": {_JSON: {"model": ErrorResponse}}}
            for s in sorted({*statuses, 500, *(() if open_route else (401,))})}


@submit_router.post(
    "/api/orders/execute",
    summary="Submit a market swap",
    responses={202: {"description": "Accepted: durable and queued", "content": {_JSON: {"model": ExecuteOrderResponse}}},
               **_errors(400, 404, 409, 410, 413, 415, 429, 503)},
)
def execute_order(
    body: ExecuteOrderRequest,
    idempotency_key: Annotated[str, Header(alias="idempotency-key", json_schema_extra={
        "pattern": IDEMPOTENCY_KEY_PATTERN, "description": "Repeats of the same order with this key return it"})] = None,
    correlation_id: Annotated[str, Header(alias=CORRELATION_ID, json_schema_extra={
        "pattern": CORRELATION_ID_PATTERN, "description": "Stored with the order and written on every log line about "
        "it, the executor's included (default: the gateway's request id)"})] = None,
):
    svc = services()
    event = submit_router.current_event
    # the client's header is checked by the submit service (a 400 naming it); the gateway's id only when valid
    correlation = correlation_id if correlation_id is not None else telemetry.correlation_id(event.raw_event)
    # the domain reads the body as parsed (amounts as written, see strict_json); the model has checked its shape
    result = svc.submit.submit(event.json_body, idempotency_key, correlation, caller(event.raw_event))
    logger.append_keys(order_id=result.order.id)
    tracer.put_annotation(key="order_id", value=result.order.id)
    payload = ExecuteOrderResponse(
        orderId=result.order.id, status="accepted", queued=result.queued,
        wsUrl=f"{svc.settings.ws_public_url}?orderId={result.order.id}",
    )
    headers = {"Location": f"/api/orders/{result.order.id}"}
    if not result.created:
        headers["Idempotent-Replayed"] = "true"
    return Response(202, _JSON, payload.model_dump_json(), headers=headers)


@orders_router.get(
    "/api/orders/history",
    summary="Past orders, newest first",
    responses={200: {"description": "A page of orders", "content": {_JSON: {"model": HistoryResponse}}},
               **_errors(400, 503)},
)
def order_history(
    limit: Annotated[int, Query(ge=1, le=settings().history_max_limit,
                                description=f"Page size (default {settings().history_default_limit})")] = None,
    cursor: Annotated[str, Query(max_length=512, pattern=r"^[A-Za-z0-9_-]+$",
                                 description="nextCursor of the previous page, unchanged")] = None,
    status: Annotated[Status, Query(description="Only orders in this status")] = None,
    token: Annotated[str, Query(description="Only orders with this token in or out (symbol or mint)",
                                json_schema_extra={"pattern": token_pattern()})] = None,
    client_order_id: Annotated[str, Query(alias="clientOrderId", description="Only orders with this clientOrderId",
                                          json_schema_extra={"pattern": CLIENT_ORDER_ID_PATTERN})] = None,
) -> dict[str, Any]:
    client = caller(orders_router.current_event.raw_event)
    page = services().queries.history(limit, cursor, status, token, client_order_id, client and client.reads_as)
    return {"orders": page.orders, "nextCursor": page.next_cursor}


@orders_router.get(
    "/api/orders/<orderId>",
    summary="One order and its event timeline",
    responses={200: {"description": "The order", "content": {_JSON: {"model": OrderWithEvents}}},
               **_errors(400, 404, 503)},
)
def get_order(orderId: Annotated[str, PathParam(json_schema_extra={  # noqa: N803 - the parameter's public name
        "format": "uuid", "pattern": ORDER_ID_PATTERN})]) -> dict[str, Any]:
    logger.append_keys(order_id=orderId)
    tracer.put_annotation(key="order_id", value=orderId)
    client = caller(orders_router.current_event.raw_event)
    return services().queries.get(orderId, client and client.reads_as)


@orders_router.delete(
    "/api/orders/<orderId>",
    summary="Cancel an order that has not started routing (pending, or waiting for its trigger)",
    description="Ends the order `cancelled`, with an event its WebSocket subscribers receive. Cancelling a cancelled "
                "order answers it again; an order that has started routing or ended otherwise is 409 "
                "`not_cancellable`, whose details give its status.",
    responses={200: {"description": "The order, cancelled", "content": {_JSON: {"model": OrderView}}},
               **_errors(400, 404, 409, 503)},
)
def cancel_order(orderId: Annotated[str, PathParam(json_schema_extra={  # noqa: N803 - the parameter's public name
        "format": "uuid", "pattern": ORDER_ID_PATTERN})]) -> dict[str, Any]:
    logger.append_keys(order_id=orderId)
    client = caller(orders_router.current_event.raw_event)
    return services().cancel.cancel(orderId, client and client.reads_as)


_TOKEN_QUERY = {"pattern": token_pattern()}


@orders_router.get(
    "/api/quote",
    summary="Both venues' quotes, the route the engine would take now, minAmountOut and a quoteId to execute by",
    description="The fields of the submit body, as query parameters: exactly one of the shapes tokenIn/tokenOut/"
                "amount or inputMint/outputMint/amountIn, all three of it (refused with 400 one_shape or required: "
                "rules separate parameters cannot state), and slippageBps; an amount too small to buy anything is "
                "400 routable. The quoteId binds the pair, the amount, the route and minAmountOut until expiresAt.",
    responses={200: {"description": "The quote", "content": {_JSON: {"model": QuoteResponse}}}, **_errors(400, 503)},
)
def quote(
    token_in: Annotated[str, Query(alias="tokenIn", json_schema_extra=_TOKEN_QUERY)] = None,
    token_out: Annotated[str, Query(alias="tokenOut", json_schema_extra=_TOKEN_QUERY)] = None,
    amount: Annotated[str, Query(max_length=MAX_AMOUNT_CHARS, description="Whole tokens of tokenIn",
                                 json_schema_extra={"pattern": POSITIVE_WHOLE_AMOUNT_PATTERN})] = None,
    input_mint: Annotated[str, Query(alias="inputMint", json_schema_extra=_TOKEN_QUERY)] = None,
    output_mint: Annotated[str, Query(alias="outputMint", json_schema_extra=_TOKEN_QUERY)] = None,
    amount_in: Annotated[str, Query(alias="amountIn", max_length=MAX_AMOUNT_CHARS, description="Base units of inputMint",
                                    json_schema_extra={"pattern": POSITIVE_BASE_UNITS_PATTERN})] = None,
    slippage_bps: Annotated[int, Query(alias="slippageBps", ge=0, le=settings().max_slippage_bps,
                                       description=f"Slippage bound (default {settings().default_slippage_bps})")] = None,
) -> dict[str, Any]:
    # the service reads the query as sent (the same parser as the submit body); the route has checked its shape
    return services().quotes.quote(orders_router.current_event.query_string_parameters or {})


@orders_router.get("/api/health", summary="PostgreSQL and Redis reachability",
                   responses={200: {"description": "Both answer", "content": {_JSON: {"model": HealthResponse}}},
                              **_errors(400, 503, open_route=True)})
def health() -> dict[str, Any]:
    return services().queries.health()


@orders_router.get(
    "/api/queue",
    summary="Queue and engine statistics: ready, in flight, delayed, dead-lettered, confirmed, failed",
    responses={200: {"description": "Counts", "content": {_JSON: {"model": QueueStats}}}, **_errors(400, 503)},
)
def queue() -> dict[str, Any]:
    client = caller(orders_router.current_event.raw_event)
    return services().queries.queue_stats(client and client.reads_as)


@operator_router.get(
    "/api/operator/dead-letters",
    summary="The dead-letter list, newest first: each entry's order, reason and time, and whether it can be retried",
    responses={200: {"description": "Entries", "content": {_JSON: {"model": DeadLetters}}}, **_errors(400, 403, 503)},
)
def dead_letters(
    limit: Annotated[int, Query(ge=1, le=MAX_DEAD_LETTERS, description="Entries (default 100)")] = None,
) -> dict[str, Any]:
    return {"deadLetters": services().operator.dead_letters(limit)}


@operator_router.post(
    "/api/operator/orders/<orderId>/retry",
    summary="Re-queue a failed or dead-lettered order (409 when it is neither)",
    responses={202: {"description": "Re-queued", "content": {_JSON: {"model": RetryResponse}}},
               **_errors(400, 403, 404, 409, 503)},
)
def retry_order(orderId: Annotated[str, PathParam(json_schema_extra={  # noqa: N803 - the parameter's public name
        "format": "uuid", "pattern": ORDER_ID_PATTERN})]):
    logger.append_keys(order_id=orderId)
    retried = services().operator.retry(orderId)
    body = RetryResponse(orderId=retried.order["orderId"], requeuedFrom=retried.requeued_from, order=retried.order)
    return Response(202, _JSON, body.model_dump_json())


@operator_router.post(
    "/api/operator/listings",
    summary="List a new token: create its pool(s) on Raydium and/or Meteora from a slot on (the simulated market)",
    responses={201: {"description": "Scheduled (or listed, when its slot is now)",
                     "content": {_JSON: {"model": ListingView}}}, **_errors(400, 409, 413, 415, 503)},
)
def create_listing(body: ListingRequest):
    listing = services().listings.create(operator_router.current_event.json_body)
    logger.info("listing created", extra={"listing": listing})
    return Response(201, _JSON, ListingView(**listing).model_dump_json())


@operator_router.get(
    "/api/operator/listings",
    summary="Every listing of the simulated market, listed or scheduled, by slot",
    responses={200: {"description": "The listings", "content": {_JSON: {"model": Listings}}}, **_errors(400, 503)},
)
def listings() -> dict[str, Any]:
    return {"listings": services().listings.all()}


@web_router.get(
    "/api/config",
    summary="What a client needs to start: the WebSocket URL, the tradable tokens and the order defaults",
    responses={200: {"description": "The configuration", "content": {_JSON: {"model": PageConfig}}}, **_errors(400, open_route=True)},
)
def client_config() -> dict[str, Any]:
    s = settings()
    return PageConfig(
        wsUrl=s.ws_public_url, defaultSlippageBps=s.default_slippage_bps, maxSlippageBps=s.max_slippage_bps,
        tokens=[{"symbol": t.symbol, "mint": t.mint, "decimals": t.decimals, "maxAmount": str(t.max_amount)}
                for t in TOKENS],
        lifecycle={"statuses": list(Status), "terminal": [s for s in Status if s in TERMINAL],
                   "cancellable": [s for s in Status if s in CANCELLABLE]},
    ).model_dump()


@orders_router.get("/api/openapi.json", summary="This document",
                   responses={200: {"description": "The OpenAPI document", "content": {_JSON: {"schema": {"type": "object"}}}},
                              **_errors(400, open_route=True)})
def openapi():
    return Response(200, _JSON, openapi_json())


@orders_router.get("/api/docs", summary="Swagger UI for this API (works offline)",
                   responses={200: {"description": "The page", "content": {"text/html": {"schema": {"type": "string"}}}},
                              **_errors(400, open_route=True)})
def docs():
    return Response(200, "text/html", swagger_html())


@lru_cache(maxsize=1)
def swagger_html() -> str:
    from aws_lambda_powertools.event_handler.openapi.swagger_ui import html

    assets = Path(html.__file__).parent
    js = (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    css = (assets / "swagger-ui.min.css").read_text(encoding="utf-8")
    return html.generate_swagger_html(openapi_json().replace("</", "<\\/"), js, css, "", None)


API_ROUTERS = (submit_router, orders_router, operator_router, web_router)


@lru_cache(maxsize=1)
def openapi_json() -> str:
    from order_engine.api.http import create_app  # noqa: PLC0415 - http imports this module's routers' users

    document = json.loads(create_app(*API_ROUTERS).get_openapi_json_schema(
        title="Order execution engine", version="1.0.0",
        description="Market swaps routed between simulated Raydium and Meteora venues; live updates over WebSocket. "
                    "A method a path does not serve answers 405 with Allow; every 4xx/5xx body has the error shape.",
    ))
    document.setdefault("components", {})["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "An API key: Authorization: Bearer <key>"},
        "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key", "description": "The same key in x-api-key"},
    }
    for path in document["paths"].values():  # validation errors are 400 here (see http.py), never 422
        for operation in path.values():
            operation["responses"].pop("422", None)
            if "401" in operation["responses"]:  # the routes behind the authorizer
                operation["security"] = [{"bearer": []}, {"apiKey": []}]
    _drop_unreferenced_schemas(document)
    return json.dumps(document)


def _drop_unreferenced_schemas(document: dict[str, Any]) -> None:
    """Powertools lists its own validation-error schemas, and pydantic one for `Numeral`; none is used here."""
    schemas = document.get("components", {}).get("schemas", {})
    while True:
        text = json.dumps({k: v for k, v in document.items() if k != "components"}) + json.dumps(schemas)
        unused = [name for name in schemas if f'"#/components/schemas/{name}"' not in text]
        if not unused:
            return
        for name in unused:
            del schemas[name]
