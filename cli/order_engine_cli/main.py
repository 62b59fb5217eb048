"""The commands. Exit status: 0 success (an order that confirmed), 1 an order that failed, 2 bad usage, 3 an
error from the API or no answer from it. `--json` prints machine-readable output (one JSON document, or one per
line for a watched order's events); errors always go to stderr as one line."""
from __future__ import annotations

import asyncio
import json
import sys
from typing import Any, Awaitable, Callable, Optional

import typer
from rich.console import Console
from rich.live import Live
from rich.text import Text

from order_engine_cli.client import ApiError, Client
from order_engine_cli.render import Tokens, lifecycle_view, order_table, orders_table, queue_table, quote_table

DEFAULT_URL = "http://127.0.0.1:3000"
EXIT_FAILED, EXIT_API = 1, 3

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
out = Console()
err = Console(stderr=True)


class Options:
    url: str = DEFAULT_URL
    api_key: str | None = None
    json: bool = False
    timeout: float = 120.0


opts = Options()


@app.callback()
def main(
    url: str = typer.Option(DEFAULT_URL, "--url", envvar="ORDER_ENGINE_URL",
                            help="The HTTP API's base URL (with its stage, e.g. https://.../prod)."),
    api_key: Optional[str] = typer.Option(None, "--api-key", envvar="ORDER_ENGINE_API_KEY",
                                          help="The API key (./local/up prints one; python -m local.key_admin create)."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    timeout: float = typer.Option(120.0, "--timeout", help="Seconds to wait for a watched order to finish."),
) -> None:
    """A client of the order engine's public API (HTTP + WebSocket)."""
    opts.url, opts.api_key, opts.json, opts.timeout = url, api_key, json_output, timeout


def _run(work: Callable[[Client], Awaitable[int]]) -> None:
    async def go() -> int:
        async with Client(opts.url, api_key=opts.api_key) as client:
            return await work(client)

    try:
        code = asyncio.run(go())
    except ApiError as exc:
        err.print(Text(exc.one_line(), style="bold red"), soft_wrap=True)
        code = EXIT_API
    except KeyboardInterrupt:
        code = 130
    raise typer.Exit(code)


def _print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, separators=(",", ":")) + "\n")
    sys.stdout.flush()


@app.command(context_settings={"ignore_unknown_options": True})  # so that an amount such as -1 reaches the API
def submit(
    token_in: str = typer.Argument(..., help="The token you sell: symbol (SOL) or mint"),
    token_out: str = typer.Argument(..., help="The token you buy"),
    amount: str = typer.Argument(..., help="Whole tokens of TOKEN_IN, e.g. 1.5"),
    slippage_bps: Optional[int] = typer.Option(None, "--slippage-bps", help="Slippage bound (default 50)"),
    dynamic_slippage: Optional[str] = typer.Option(None, "--dynamic-slippage", metavar="MIN,MAX",
                                                   help="Let the engine pick the slippage between MIN and MAX bps"),
    quote_id: Optional[str] = typer.Option(None, "--quote-id", help="Execute on this quote's route (order-engine quote)"),
    idempotency_key: Optional[str] = typer.Option(None, "--idempotency-key", help="Submitting again with the same key returns the same order"),
    client_order_id: Optional[str] = typer.Option(None, "--client-order-id", help="Your own reference for the order"),
    watch_: bool = typer.Option(False, "--watch", help="Follow the order live until it confirms or fails"),
) -> None:
    """Submit a market order; with --watch, follow it live (exit 0 when it confirms, 1 when it fails)."""
    body: dict[str, Any] = {"tokenIn": token_in, "tokenOut": token_out, "amount": amount}
    if slippage_bps is not None:
        body["slippageBps"] = slippage_bps
    if dynamic_slippage is not None:
        body["dynamicSlippage"] = _bounds(dynamic_slippage)
    if quote_id is not None:
        body["quoteId"] = quote_id
    if client_order_id is not None:
        body["clientOrderId"] = client_order_id

    async def work(client: Client) -> int:
        accepted = await client.submit(body, idempotency_key)
        if not watch_:
            if opts.json:
                _print_json(accepted)
            else:
                out.print(f"accepted [bold]{accepted['orderId']}[/] (watch it with: order-engine watch {accepted['orderId']})")
            return 0
        if opts.json:
            _print_json(accepted)
        return await _watch(client, accepted["orderId"], accepted.get("wsUrl"))

    _run(work)


def _bounds(text: str) -> dict[str, Any]:
    low, _, high = text.partition(",")
    try:
        return {"minBps": int(low), "maxBps": int(high)}
    except ValueError:
        raise typer.BadParameter("give MIN,MAX in basis points, e.g. 10,300", param_hint="--dynamic-slippage") from None


@app.command(context_settings={"ignore_unknown_options": True})
def quote(
    token_in: str = typer.Argument(..., help="The token you sell: symbol (SOL) or mint"),
    token_out: str = typer.Argument(..., help="The token you buy"),
    amount: str = typer.Argument(..., help="Whole tokens of TOKEN_IN, e.g. 1.5"),
    slippage_bps: Optional[int] = typer.Option(None, "--slippage-bps", help="Slippage bound (default 50)"),
) -> None:
    """Both venues' quotes, the route the engine would take now and a quote id to submit with --quote-id."""
    params: dict[str, Any] = {"tokenIn": token_in, "tokenOut": token_out, "amount": amount}
    if slippage_bps is not None:
        params["slippageBps"] = slippage_bps

    async def work(client: Client) -> int:
        quoted = await client.quote(**params)
        if opts.json:
            _print_json(quoted)
        else:
            out.print(quote_table(quoted, Tokens((await client.config())["tokens"])))
        return 0

    _run(work)


@app.command()
def watch(order_id: str = typer.Argument(..., help="The order's id")) -> None:
    """Follow an order live until it finishes (its history first, if it already has one)."""
    _run(lambda client: _watch(client, order_id, None))


async def _watch(client: Client, order_id: str, ws_url: Optional[str]) -> int:
    config = await client.config()
    tokens = Tokens(config["tokens"])
    order = await client.get(order_id)  # also refuses an unknown id before opening a WebSocket
    ws = (ws_url or config["wsUrl"]).split("?", 1)[0]
    events: list[dict[str, Any]] = []
    known_seq = max((e["seq"] for e in order.get("events", [])), default=0)
    if opts.json:
        async for event in client.events(ws, order_id, opts.timeout, known_seq):
            events.append(event)
            _print_json(event)
    else:
        # on a terminal it redraws in place; otherwise (a pipe, a log) it prints the final state once
        with Live(lifecycle_view(order, events, tokens), console=out, refresh_per_second=8) as live:
            async for event in client.events(ws, order_id, opts.timeout, known_seq):
                events.append(event)
                live.update(lifecycle_view(order, events, tokens))
        if not out.is_terminal:
            out.print()
    final = events[-1]["status"] if events else order["status"]
    return 0 if final == "confirmed" else EXIT_FAILED


@app.command()
def get(order_id: str = typer.Argument(..., help="The order's id")) -> None:
    """One order and its event timeline."""

    async def work(client: Client) -> int:
        order = await client.get(order_id)
        if opts.json:
            _print_json(order)
        else:
            tokens = Tokens((await client.config())["tokens"])
            out.print(order_table(order, tokens))
        return 0

    _run(work)


@app.command()
def cancel(order_id: str = typer.Argument(..., help="The order's id")) -> None:
    """Cancel an order that has not started routing (pending, or waiting for its trigger); exit 3 once it has."""

    async def work(client: Client) -> int:
        order = await client.cancel(order_id)
        if opts.json:
            _print_json(order)
        else:
            out.print(f"[bold]{order['orderId']}[/] is [yellow]{order['status']}[/]")
        return 0

    _run(work)


@app.command()
def history(
    status: Optional[str] = typer.Option(None, "--status", help="Only orders in this status"),
    token: Optional[str] = typer.Option(None, "--token", help="Only orders with this token in or out"),
    limit: Optional[int] = typer.Option(None, "--limit", help="Orders per page (API default 50, max 500)"),
    all_pages: bool = typer.Option(False, "--all", help="Follow nextCursor to the last page"),
) -> None:
    """Past orders, newest first; --all follows the cursors through every page."""

    async def work(client: Client) -> int:
        orders: list[dict[str, Any]] = []
        cursor: Optional[str] = None
        pages = 0
        while True:
            page = await client.history(limit=limit, cursor=cursor, status=status, token=token)
            orders.extend(page["orders"])
            cursor, pages = page.get("nextCursor"), pages + 1
            if not (all_pages and cursor):
                break
        if opts.json:
            _print_json({"orders": orders, "nextCursor": cursor, "pages": pages})
        else:
            tokens = Tokens((await client.config())["tokens"])
            out.print(orders_table(orders, tokens))
            more = f"; more with --all (cursor {cursor})" if cursor else ""
            out.print(f"{len(orders)} orders in {pages} page{'s' if pages != 1 else ''}{more}", style="dim")
        return 0

    _run(work)


@app.command()
def queue() -> None:
    """Queue and engine counts: ready, in flight, delayed, dead-lettered, confirmed, failed."""

    async def work(client: Client) -> int:
        counts = await client.queue()
        if opts.json:
            _print_json(counts)
        else:
            out.print(queue_table(counts))
        return 0

    _run(work)


def run() -> None:
    app()
