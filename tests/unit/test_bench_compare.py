"""`bench compare`: the order of the interleaved runs, the figures of one run (missing and late terminal frames, CPU
per confirmed order), the table, the peer's order shape, and the WebSocket client's missing-frame rule against a
server on loopback that never sends the terminal frame."""
from __future__ import annotations

import asyncio
import math
import socket
import time
from datetime import datetime, timezone

import aiohttp

import orjson
import pytest
from aiohttp import web

from local.bench.compare import SHARED_GROUP, group_table, run_figures, runs_for, schedule, short_group, table
from local.bench.compare_client import Client, Order, frame_delay, run_orders, terminal_of
from local.bench.engines import Routes
from local.bench.peer import peer_body


def order(submit_s=0.01, terminal="confirmed", done_at=10.0, delay=None, missing=False, accepted=True, opened=True,
          error=None):
    return Order(sent_at=0.0, submit_s=submit_s, status=202 if accepted else 503,
                 order_id="o" if accepted else None, terminal=terminal if accepted else None,
                 done_at=done_at if accepted else None, frame_delay_s=delay, frame_missing=missing,
                 ws_opened=opened and accepted, watch_error=error)


def test_runs_interleave_engines_within_each_run_and_swap_who_goes_first_every_other_repetition():
    assert list(schedule(["A", "B"], 2, ["ours", "peer"])) == [
        (0, "A", "ours"), (0, "A", "peer"), (0, "B", "ours"), (0, "B", "peer"),
        (1, "A", "peer"), (1, "A", "ours"), (1, "B", "peer"), (1, "B", "ours")]


def test_ws_run_counts_missing_and_late_terminal_frames_and_cpu_per_confirmed_order():
    orders = [order(delay=0.2), order(delay=1.5), order(missing=True), order(terminal="failed", delay=3.0),
              order(terminal=None, done_at=None), order(accepted=False),
              order(missing=True, opened=False, error="WSServerHandshakeError")]
    cpu = {"worker order-engine-executor": 0.03, "postgres backends": 0.01, SHARED_GROUP: 0.5}
    figures = run_figures(orders, elapsed_s=2.0, watch="ws", cpu_seconds=cpu, late_s=1.0)
    assert (figures["accepted"], figures["submit errors"], figures["confirmed"], figures["failed"],
            figures["unfinished"]) == (6, 1, 4, 1, 1)
    assert figures["confirmed/s"] == 2.0 and figures["confirmed/min"] == 120.0
    # the failed order's terminal frame counts too: 1.5 s and 3.0 s are past 1 s, 0.2 s is not
    assert figures["missing terminal frames"] == 1 and figures["late terminal frames"] == 2
    assert (figures["terminal frame delay p50 ms"], figures["terminal frame delay p99 ms"]) == (1500.0, 3000.0)
    # a socket that never opened is not a missing frame: counted apart, with its error
    assert figures["websocket not opened"] == 1 and figures["websocket errors"] == {"WSServerHandshakeError": 1}
    assert figures["cpu ms"]["executor"] == pytest.approx(7.5)  # 30 ms over 4 confirmed orders
    assert figures["cpu total ms"] == pytest.approx(10.0)  # the shared PostgreSQL background left out


def test_poll_run_has_no_frame_counts_and_a_run_with_nothing_confirmed_has_no_cpu_per_order():
    figures = run_figures([order(terminal=None, done_at=None)], elapsed_s=1.0, watch="poll",
                          cpu_seconds={"gateway": 1.0})
    assert figures["missing terminal frames"] is None and figures["late terminal frames"] is None
    assert figures["confirmed"] == 0 and math.isnan(figures["cpu total ms"])


def test_submit_percentiles_are_over_every_submit_including_the_refused():
    orders = [order(submit_s=s / 1000) for s in range(1, 100)] + [order(submit_s=5.0, accepted=False)]
    figures = run_figures(orders, 1.0, "poll", None)
    assert figures["submit p50 ms"] == 50.0 and figures["submit p99 ms"] == 5000.0  # the refused one is the top 1%
    assert "cpu ms" not in figures


def test_group_names_drop_the_stack_prefix():
    assert short_group("worker order-engine-executor") == "executor"
    assert short_group("worker order-engine-ws-disconnect") == "ws-disconnect"
    assert short_group("node worker") == "node worker"


def results_for_table():
    runs = runs_for()
    results = []
    for rep, (ours_cps, peer_cps) in enumerate([(100.0, 50.0), (110.0, 55.0)], 1):
        for engine, cps, missing in (("ours", ours_cps, 0), ("peer", peer_cps, 7)):
            for run in ("A", "B"):
                watch = runs[run].watch
                frames = [order(missing=i < missing) for i in range(10)] + [order(accepted=False)] * rep
                figures = run_figures(frames, 10 / cps, watch,
                                      {"gateway": 0.01, SHARED_GROUP: 0.001, "idle": 0.0})
                results.append({"repetition": rep, "run": run, "engine": engine, "figures": figures})
    return runs, results


def test_table_shows_each_repetition_in_order_with_the_run_named_once():
    runs, results = results_for_table()
    lines = table(results, {k: runs[k] for k in ("A", "B")}).splitlines()
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    assert [c[:3] for c in cells] == [[runs["A"].label, "ours", "100.0, 110.0"], ["", "peer", "50.0, 55.0"],
                                      [runs["B"].label, "ours", "100.0, 110.0"], ["", "peer", "50.0, 55.0"]]
    assert cells[1][6] == "-" and cells[3][6] == "7, 7"  # missing frames: none counted when polling
    assert cells[1][8] == "-" and cells[3][8] == "0, 0"  # sockets not opened
    assert cells[0][10] == "1, 2"  # submit errors, by repetition
    assert cells[0][4] == "**1.0, 1.0**"  # 10 ms over 10 orders, the shared background not in it


def test_group_table_drops_groups_that_spent_nothing_and_puts_the_shared_background_last():
    runs, results = results_for_table()
    rows = group_table(results, runs, "peer").splitlines()
    assert rows[0] == "| peer: CPU ms per confirmed order | A | B |"
    assert [r.split("|")[1].strip() for r in rows[2:]] == ["gateway", f"{SHARED_GROUP} (not in the total)"]
    assert rows[2] == "| gateway | 1.0, 1.0 | 1.0, 1.0 |"


def test_the_peer_gets_the_same_pair_size_and_slippage_in_its_shape():
    assert peer_body({"tokenIn": "SOL", "tokenOut": "USDC", "amount": "2.25"}) == {
        "type": "MARKET", "tokenIn": "SOL", "tokenOut": "USDC", "amountIn": 2.25, "slippageBps": 100}
    assert peer_body({"inputMint": "USDC", "outputMint": "SOL", "amountIn": 350_500_000, "slippageBps": 50}) == {
        "type": "MARKET", "tokenIn": "USDC", "tokenOut": "SOL", "amountIn": 350.5, "slippageBps": 50}


def test_a_replayed_frame_is_judged_from_the_connection_and_a_live_one_from_its_server_time():
    assert frame_delay(received=10.5, at=2.0, connected=10.0) == 0.5  # the event was before the client connected
    assert frame_delay(received=12.0, at=10.5, connected=10.0) == 1.5
    assert frame_delay(received=12.0, at=None, connected=10.0) == 0.0


def test_terminal_frames_of_both_engines():
    assert terminal_of({"type": "status", "status": "confirmed"}) == "confirmed"  # ours
    assert terminal_of({"orderId": "x", "status": "failed", "at": "..."}) == "failed"  # the peer's, untyped
    assert terminal_of({"type": "error", "status": "confirmed"}) is None
    assert terminal_of({"type": "status", "status": "submitted"}) is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EngineStub:
    """On loopback: submit hands out the ids in turn; the WebSocket sends `submitted`, and `confirmed` (replayed,
    its server time long past) only for the order "told"; GET answers `get_status` (None: 404)."""

    def __init__(self, ids: list[str], get_status: str | None):
        self.ids, self.get_status, self.gets = iter(ids), get_status, 0

    async def submit(self, request: web.Request) -> web.Response:
        return web.json_response({"orderId": next(self.ids)}, status=202)

    async def get_order(self, request: web.Request) -> web.Response:
        self.gets += 1
        if self.get_status is None:
            return web.json_response({}, status=404)
        return web.json_response({"status": self.get_status})

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        socket_ = web.WebSocketResponse()
        await socket_.prepare(request)
        await socket_.send_str(orjson.dumps({"status": "submitted", "at": "2020-01-01T00:00:00+00:00"}).decode())
        if request.query["orderId"] == "told":
            await socket_.send_str(orjson.dumps({"status": "confirmed", "at": "2020-01-01T00:00:01+00:00"}).decode())
        elif request.query["orderId"] == "slow":  # a live frame, 1 s after the event it tells
            at = time.time()
            await asyncio.sleep(1.0)
            await socket_.send_str(orjson.dumps({"status": "confirmed", "at": _iso(at)}).decode())
        async for _ in socket_:  # open until the client closes it
            pass
        return socket_

    async def serve(self, body) -> object:  # noqa: ANN001
        app = web.Application()
        app.router.add_post("/submit", self.submit)
        app.router.add_get("/orders/{id}", self.get_order)
        app.router.add_get("/ws", self.ws)
        runner = web.AppRunner(app)
        await runner.setup()
        port = _free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        base = f"http://127.0.0.1:{port}"
        routes = Routes(f"{base}/submit", lambda oid: f"{base}/orders/{oid}",
                        lambda oid: f"ws://127.0.0.1:{port}/ws?orderId={oid}", 202, lambda b: b)
        try:
            return await body(routes)
        finally:
            await runner.cleanup()


def test_the_ws_client_counts_a_frame_missing_only_after_the_grace_and_a_delivered_one_as_delivered():
    """Order "lost": GET says confirmed but its socket never sends the terminal frame. Order "told": the frame is
    a replay with a server time far in the past, so not late (judged from the connection)."""
    stub = EngineStub(["lost", "told"], "confirmed")
    lost, told = asyncio.run(stub.serve(lambda routes: run_orders(
        routes, iter([{}, {}]), 2, 1, "ws", timeout_s=10, check_s=0.1, grace_s=0.3)))[0]
    assert lost.order_id == "lost" and lost.frame_missing and lost.ws_opened and lost.terminal == "confirmed"
    assert told.order_id == "told" and not told.frame_missing and told.terminal == "confirmed"
    assert told.frame_delay_s is not None and told.frame_delay_s < 1.0
    assert run_figures([lost, told], 1.0, "ws", None)["missing terminal frames"] == 1


class ProbeStub:
    """A StatusProbe that has seen every watched order over as soon as it is watched."""

    def __init__(self):
        self.ended: dict[str, tuple[str, float]] = {}
        self.watched: list[str] = []

    def watch(self, order_id: str) -> None:
        self.watched.append(order_id)
        self.ended[order_id] = ("failed", time.time())

    def forget(self, order_id: str) -> None:
        self.ended.pop(order_id, None)


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, timezone.utc).isoformat()


def watch_one(order_id: str, late_s: float, grace_s: float) -> tuple[Order, float, dict, float, EngineStub, ProbeStub]:
    """One order watched with a probe: the order, how long the slot was held, what the order looked like then,
    how long until its socket closed, the stub and the probe."""
    stub, probe = EngineStub([order_id], None), ProbeStub()  # GET would never say it is over

    async def body(routes: Routes):  # noqa: ANN202
        async with aiohttp.ClientSession() as session:
            client = Client(session, routes, timeout_s=10, check_s=0.1, grace_s=grace_s, late_s=late_s, probe=probe)
            order = await client.submit({})
            started = time.time()
            await client.watch(order)
            held, at_release = time.time() - started, dict(vars(order))
            await asyncio.gather(*client.lingering)
            return order, held, at_release, time.time() - started

    order, held, at_release, closed = asyncio.run(stub.serve(body))
    return order, held, at_release, closed, stub, probe


def test_with_a_probe_a_missing_frame_frees_the_slot_after_late_s_and_is_decided_after_the_grace():
    lost, held, at_release, closed, stub, probe = watch_one("lost", late_s=0.2, grace_s=1.2)
    assert probe.watched == ["lost"] and probe.ended == {} and stub.gets == 0  # the database, not the engine
    assert 0.15 <= held < 0.9 and not at_release["frame_missing"]  # the slot moved on; not decided yet
    assert 1.15 <= closed < 3.0 and lost.frame_missing and lost.terminal == "failed"
    assert lost.done_at == at_release["done_at"]  # it counts as ended when the slot was freed


def test_a_frame_after_the_slot_moved_on_is_late_not_missing():
    slow, held, _, _, _, _ = watch_one("slow", late_s=0.2, grace_s=2.0)
    assert held < 0.8  # the slot did not wait the 1 s for the frame
    assert not slow.frame_missing and slow.terminal == "confirmed"
    assert 0.95 <= slow.frame_delay_s < 2.5
    assert run_figures([slow], 1.0, "ws", None, late_s=0.2)["late terminal frames"] == 1
