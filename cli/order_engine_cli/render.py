"""What the commands print: rich tables and the live lifecycle view of one order."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable

from rich.console import Group
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from order_engine_cli.client import TERMINAL

LIFECYCLE = ("pending", "routing", "building", "submitted", "confirmed")
STATUS_STYLE = {"confirmed": "green", "failed": "red", "pending": "dim", "waiting": "cyan", "cancelled": "yellow",
                "expired": "yellow"}


class Tokens:
    """Base units to whole tokens, with the decimals GET /api/config gives for each symbol and mint."""

    def __init__(self, tokens: Iterable[dict[str, Any]]):
        self.by_key: dict[str, dict[str, Any]] = {}
        for t in tokens:
            self.by_key[t["symbol"]] = self.by_key[t["mint"]] = t

    def amount(self, base_units: Any, token: str) -> str:
        if base_units in (None, ""):
            return ""
        info = self.by_key.get(token)
        if info is None:
            return str(base_units)
        whole = Decimal(int(base_units)).scaleb(-int(info["decimals"]))
        return f"{whole.normalize():f} {info['symbol']}"


def lifecycle_view(order: dict[str, Any], events: list[dict[str, Any]], tokens: Tokens) -> Group:
    """One line per lifecycle state (done, current, to come), then the route, retries and the outcome."""
    reached = {e["status"] for e in events} | {order["status"]}
    current = events[-1]["status"] if events else order["status"]
    steps = Table.grid(padding=(0, 1))
    # a limit or sniper order waited first; a cancelled or expired one ends off the market order's path
    shown = (("waiting",) if "waiting" in reached else ()) + LIFECYCLE + tuple(
        s for s in ("cancelled", "expired") if s in reached)
    for status in shown:
        if status == current and current not in TERMINAL:
            mark: Any = Spinner("dots", style="cyan")
        elif status in reached:
            mark = Text("✓", style="green")
        else:
            mark = Text("·", style="dim")
        steps.add_row(mark, Text(status, style="bold" if status == current else ""))
    lines: list[Any] = [Text(f"order {order['orderId']}: {order['amount']} {order['tokenIn']} -> {order['tokenOut']}",
                             style="bold"), steps]
    for e in events:
        if e["status"] == "routing" and e.get("retry"):
            r = e["retry"]
            lines.append(Text(f"retry: attempt {r.get('previousAttempt')} failed ({r.get('reason')}: {r.get('error')}),"
                              f" next attempt in {r.get('delayMs')} ms", style="yellow"))
        elif e["status"] == "routing" and e.get("quotes"):
            for q in e["quotes"]:
                lines.append(Text(f"  quote {q['venue']:<8} {tokens.amount(q['amountOut'], order['tokenOut'])}"
                                  f" after fees, impact {q['priceImpactBps'] / 100:.2f}%"))
            for f in e.get("failedVenues") or []:
                lines.append(Text(f"  quote {f['venue']:<8} unavailable: {f['reason']}", style="yellow"))
            legs = e.get("legs") or []
            chosen = " + ".join(f"{leg['percent']}% {leg['venue']}" for leg in legs) if len(legs) > 1 else e.get("dex")
            lines.append(Text(f"route: {chosen}" + (f" ({e['reason']})" if e.get("reason") else ""), style="cyan"))
        elif e["status"] == "building" and e.get("steps"):
            lines.append(Text(f"steps: {' -> '.join(e['steps'])}; minimum out "
                              f"{tokens.amount(e.get('minAmountOut'), order['tokenOut'])}"))
        elif e["status"] == "confirmed":
            lines.append(Text(f"confirmed on {e.get('dex')}: {tokens.amount(e.get('amountOut'), order['tokenOut'])}"
                              f" at {e.get('executedPrice')}", style="green"))
            lines.append(Text(f"signature {e.get('txHash')}"))
        elif e["status"] == "failed":
            lines.append(Text(f"failed after attempt {e.get('attempt')}: {e.get('error')}", style="red"))
        elif e["status"] in ("cancelled", "expired"):
            lines.append(Text(f"{e['status']} before it was routed", style="yellow"))
    return Group(*lines)


def order_table(order: dict[str, Any], tokens: Tokens) -> Group:
    summary = Table.grid(padding=(0, 2))
    rows = [
        ("order", order["orderId"]), ("status", order["status"]),
        ("swap", f"{order['amount']} {order['tokenIn']} -> {order['tokenOut']}"),
        ("venue", order.get("dex") or ""), ("price", order.get("executedPrice") or ""),
        ("out", tokens.amount(order.get("amountOut"), order["tokenOut"])),
        ("minimum out", tokens.amount(order.get("minAmountOut"), order["tokenOut"])),
        ("signature", order.get("txHash") or ""), ("attempts", str(order.get("attempts"))),
        ("error", order.get("error") or ""), ("reference", order.get("clientOrderId") or ""),
    ]
    for name, value in rows:
        if value:
            summary.add_row(Text(name, style="dim"), Text(value, style=STATUS_STYLE.get(value, "")))
    timeline = Table("seq", "status", "at", "attempt", title="timeline", title_justify="left")
    for e in order.get("events", []):
        timeline.add_row(str(e["seq"]), Text(e["status"], style=STATUS_STYLE.get(e["status"], "")), e["at"],
                         str(e["attempt"]))
    return Group(summary, timeline)


def orders_table(orders: list[dict[str, Any]], tokens: Tokens) -> Table:
    table = Table("created", "order", "swap", "status", "venue", "price", "out")
    for o in orders:
        table.add_row(o["createdAt"], o["orderId"], f"{o['amount']} {o['tokenIn']} -> {o['tokenOut']}",
                      Text(o["status"], style=STATUS_STYLE.get(o["status"], "")), o.get("dex") or "",
                      o.get("executedPrice") or "", tokens.amount(o.get("amountOut"), o["tokenOut"]))
    return table


def queue_table(counts: dict[str, Any]) -> Table:
    columns = {"ready": "ready", "inFlight": "in flight", "delayed": "delayed", "deadLettered": "dead-lettered",
               "waiting": "waiting", "confirmed": "confirmed", "failed": "failed", "cancelled": "cancelled",
               "expired": "expired"}
    table = Table(*columns.values())
    table.add_row(*(str(counts.get(k, "")) for k in columns))
    return table


def quote_table(quoted: dict[str, Any], tokens: Tokens) -> Group:
    """Both venues' quotes, the chosen route and why, the minimum an order by this quote accepts."""
    venues = Table("venue", "out (after fees and impact)", "fee", "impact bps")
    for q in quoted["quotes"]:
        venues.add_row(q["venue"], tokens.amount(q["amountOut"], quoted["tokenOut"]),
                       tokens.amount(q["fee"], quoted["tokenIn"]), str(q["priceImpactBps"]))
    for failed in quoted["failedVenues"]:
        venues.add_row(failed["venue"], Text(failed["reason"], style="red"), "", "")
    legs = ", ".join(f"{leg['percent']}% {leg['venue']}" for leg in quoted["route"]["legs"])
    summary = Text.assemble(
        (f"{quoted['amount']} {quoted['tokenIn']} -> {quoted['tokenOut']}: ", "bold"), f"route {legs}\n",
        f"{quoted['route']['reason']}\n",
        f"expected {tokens.amount(quoted['expectedAmountOut'], quoted['tokenOut'])}, at least "
        f"{tokens.amount(quoted['minAmountOut'], quoted['tokenOut'])} ({quoted['slippageBps']} bps), "
        f"price impact {quoted['priceImpactBps']} bps\n",
        ("quote ", "dim"), (quoted["quoteId"], "bold"), ("  (submit with --quote-id before it expires)", "dim"),
    )
    return Group(venues, summary)
