"""The routes of the HTTP API, as Powertools routers. Each Lambda function serves the routers template.yaml gives
it; the OpenAPI document is built from all of them, so it describes every route whichever function serves it."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Optional

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from order_engine.api.models import (ErrorResponse, ExecuteOrderRequest, ExecuteOrderResponse, HistoryResponse,
                                     OrderWithEvents, PageConfig, QueueStats)
from order_engine.api.http import logger
from order_engine.bootstrap import services
from order_engine.config import settings as load_settings
from order_engine.domain.tokens import TOKENS

submit_router = APIGatewayHttpRouter()
orders_router = APIGatewayHttpRouter()
web_router = APIGatewayHttpRouter()  # what the tracking page (functions/web) needs besides the routes above
_JSON = "application/json"


def _errors(*statuses: int) -> dict[int, dict[str, Any]]:
    return {s: {"description": "Error", "content": {_JSON: {"model": ErrorResponse}}} for s in statuses}


@submit_router.post(
    "/api/orders/execute",
    summary="Submit a market swap",
    responses={202: {"description": "Accepted: durable and queued", "content": {_JSON: {"model": ExecuteOrderResponse}}},
               **_errors(400, 409, 413, 415, 503)},
)
def execute_order(
    body: ExecuteOrderRequest,
    idempotency_key: Annotated[Optional[str], Header(alias="idempotency-key")] = None,
):
    svc = services()
    result = svc.submit.submit(body.model_dump(exclude_none=True, by_alias=True), idempotency_key)
    logger.append_keys(order_id=result.order.id)
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
    limit: Annotated[Optional[int], Query(description="Page size, 1 to 500 (default 50)")] = None,
    cursor: Annotated[Optional[str], Query(description="nextCursor of the previous page")] = None,
    status: Annotated[Optional[str], Query(description="Only orders in this status")] = None,
    token: Annotated[Optional[str], Query(description="Only orders with this token in or out (symbol or mint)")] = None,
) -> dict[str, Any]:
    page = services().queries.history(limit, cursor, status, token)
    return {"orders": page.orders, "nextCursor": page.next_cursor}


@orders_router.get(
    "/api/orders/<orderId>",
    summary="One order and its event timeline",
    responses={200: {"description": "The order", "content": {_JSON: {"model": OrderWithEvents}}},
               **_errors(400, 404, 503)},
)
def get_order(orderId: str) -> dict[str, Any]:  # noqa: N803 - the path parameter's public name
    logger.append_keys(order_id=orderId)
    return services().queries.get(orderId)


@orders_router.get("/api/health", summary="PostgreSQL and Redis reachability", responses=_errors(503))
def health() -> dict[str, Any]:
    return services().queries.health()


@orders_router.get(
    "/api/queue",
    summary="Queue and engine statistics: ready, in flight, delayed, dead-lettered, confirmed, failed",
    responses={200: {"description": "Counts", "content": {_JSON: {"model": QueueStats}}}, **_errors(503)},
)
def queue() -> dict[str, Any]:
    return services().queries.queue_stats()


@web_router.get(
    "/api/config",
    summary="What a client needs to start: the WebSocket URL, the tradable tokens and the order defaults",
    responses={200: {"description": "The configuration", "content": {_JSON: {"model": PageConfig}}}},
)
def client_config() -> dict[str, Any]:
    s = load_settings()
    return PageConfig(
        wsUrl=s.ws_public_url, defaultSlippageBps=s.default_slippage_bps, maxSlippageBps=s.max_slippage_bps,
        tokens=[{"symbol": t.symbol, "mint": t.mint, "decimals": t.decimals, "maxAmount": str(t.max_amount)}
                for t in TOKENS],
    ).model_dump()


@orders_router.get("/api/openapi.json", summary="This document", include_in_schema=False)
def openapi():
    return Response(200, _JSON, openapi_json())


@orders_router.get("/api/docs", summary="Swagger UI for this API (works offline)", include_in_schema=False)
def docs():
    return Response(200, "text/html", swagger_html())


@lru_cache(maxsize=1)
def swagger_html() -> str:
    from aws_lambda_powertools.event_handler.openapi.swagger_ui import html

    assets = Path(html.__file__).parent
    js = (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    css = (assets / "swagger-ui.min.css").read_text(encoding="utf-8")
    return html.generate_swagger_html(openapi_json().replace("</", "<\\/"), js, css, "", None)


@lru_cache(maxsize=1)
def openapi_json() -> str:
    from order_engine.api.http import create_app  # noqa: PLC0415 - http imports this module's routers' users

    return create_app(submit_router, orders_router, web_router).get_openapi_json_schema(
        title="Order execution engine", version="1.0.0",
        description="Market swaps routed between simulated Raydium and Meteora venues; live updates over WebSocket.",
    )
