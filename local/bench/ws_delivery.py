"""WebSocket delivery micro-benchmarks, run through the one load-generator CLI (bounded; loopback only).

  python -m local.bench post-cost [--posts 3000]
      CPU per management-API post from the posting process: boto3's post_to_connection versus the notifier's
      SigV4-signed pooled aiohttp client (and an unsigned aiohttp post for reference), against the local gateway
      running in a process of its own with a real WebSocket client on the other end.
  python -m local.bench fanout [--clients 1000] [--events 5]
      One order with N subscribers: time from `notifier.publish` to the last client's receipt, per event, plus
      missing and duplicate deliveries. Gateway and clients each run in a process of their own; the notifier
      publishes from this one, as the executor does.

Orders watched end to end over WebSocket against a running stack are `python -m local.bench e2e` (local/bench/e2e.py).
"""
from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[2]


def _local_credentials() -> None:
    """The local management API wants a SigV4-signed request; any credentials sign one."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


# the gateway under test, with no functions behind it: every connection is accepted; a message is answered
# with the connection's id, so clients learn the id a publisher must post to
def _serve_gateway(port: int, ready: Any) -> None:
    from aiohttp import web

    from local.template import load_template
    from local.ws_gateway import WS_GATEWAY, create_ws_app

    async def main() -> None:
        holder: dict[str, Any] = {}

        async def invoke(function: str, event: dict[str, Any]) -> dict[str, Any]:
            context = event["requestContext"]
            if context["eventType"] == "MESSAGE":
                conn = holder["gateway"].connections.get(context["connectionId"])
                if conn is not None and conn.ws is not None:
                    await conn.ws.send_str(json.dumps({"connectionId": context["connectionId"]}))
            return {"statusCode": 200}

        app = create_ws_app(None, load_template(ROOT / "template.yaml"), invoke=invoke)
        holder["gateway"] = app[WS_GATEWAY]
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=4096).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def _run_clients(url: str, count: int, events: int, ids_out: Any, results_out: Any) -> None:
    """`count` WebSocket clients; sends their ids, then the receipt times (ms) of every frame each got."""

    async def main() -> None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            sockets = []
            for start in range(0, count, 100):
                sockets += await asyncio.gather(*(session.ws_connect(url) for _ in range(start, min(count, start + 100))))
            ids = []
            for ws in sockets:
                await ws.send_json({"action": "whoami"})
            for ws in sockets:
                ids.append(json.loads((await ws.receive(timeout=30)).data)["connectionId"])
            ids_out.send(ids)
            receipts: list[list[tuple[int, float]]] = [[] for _ in sockets]

            async def drain(i: int, ws: aiohttp.ClientWebSocketResponse) -> None:
                while len(receipts[i]) < events:
                    try:
                        message = await ws.receive(timeout=15)
                    except asyncio.TimeoutError:
                        return
                    if message.type is not aiohttp.WSMsgType.TEXT:
                        return
                    receipts[i].append((json.loads(message.data)["seq"], time.time() * 1000))

            await asyncio.gather(*(drain(i, ws) for i, ws in enumerate(sockets)))
            results_out.send(receipts)
            for ws in sockets:
                await ws.close()

    asyncio.run(main())


def _start_gateway(port: int) -> mp.Process:
    ready = mp.Event()
    process = mp.Process(target=_serve_gateway, args=(port, ready), daemon=True)
    process.start()
    if not ready.wait(30):
        raise RuntimeError("the gateway did not start")
    return process


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post_cost(posts: int) -> dict[str, Any]:
    import boto3

    from order_engine.adapters.aws.ws_fanout import ManagementApiSigner

    _local_credentials()
    port = _free_port()
    gateway = _start_gateway(port)
    ids_in, ids_out = mp.Pipe(duplex=False)
    results_in, results_out = mp.Pipe(duplex=False)
    total = 5 * posts
    clients = mp.Process(target=_run_clients, args=(f"ws://127.0.0.1:{port}/local", 1, total, ids_out, results_out),
                         daemon=True)
    clients.start()
    (connection_id,) = ids_in.recv()
    endpoint = f"http://127.0.0.1:{port}/local"
    body = json.dumps({"type": "status", "orderId": str(uuid.uuid4()), "status": "routing", "seq": 0}).encode()
    figures: dict[str, Any] = {}

    client = boto3.client("apigatewaymanagementapi", endpoint_url=endpoint)
    client.post_to_connection(ConnectionId=connection_id, Data=body)  # warm: connection pool, models
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(posts - 1):
        client.post_to_connection(ConnectionId=connection_id, Data=body)
    figures["boto3_post_to_connection"] = _cost(posts - 1, cpu, wall)

    async def pooled(signed: bool) -> dict[str, Any]:
        signer = ManagementApiSigner(endpoint)
        url = signer.url(connection_id)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:
            semaphore = asyncio.Semaphore(64)

            async def one() -> None:
                async with semaphore:
                    headers = signer.headers("POST", url, body) if signed else {"Authorization": "AWS4-HMAC-SHA256 x"}
                    async with session.post(url, data=body, headers=headers) as response:
                        await response.read()

            await one()
            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.gather(*(one() for _ in range(posts - 1)))
            return _cost(posts - 1, cpu, wall)

    figures["aiohttp_pooled_sigv4"] = asyncio.run(pooled(True))
    figures["aiohttp_pooled_unsigned"] = asyncio.run(pooled(False))

    from order_engine.adapters.aws.management_api import ConnectionPoster

    # what a WebSocket handler does: one frame per post, or a replay's frames pipelined (batches of 6, an order's
    # events), with the gateway's own CPU per post beside the poster's
    poster = ConnectionPoster(endpoint)
    frame = json.loads(body)
    poster.post(connection_id, frame)
    poster.post_many(connection_id, [frame] * 2)
    for name, send in (("one_by_one", lambda n: [poster.post(connection_id, frame) for _ in range(n)]),
                       ("pipelined_by_6", lambda n: [poster.post_many(connection_id, [frame] * 6)
                                                     for _ in range(n // 6)])):
        gateway_cpu, cpu, wall = _process_cpu(gateway.pid), time.process_time(), time.perf_counter()
        sent = (posts - 3) // 6 * 6
        send(sent)
        figures[f"connection_poster_{name}"] = _cost(sent, cpu, wall) | {
            "gateway_cpu_ms_per_post": round((_process_cpu(gateway.pid) - gateway_cpu) * 1000 / sent, 4)}
    signer = ManagementApiSigner(endpoint)
    cpu = time.process_time()
    for _ in range(posts):
        signer.headers("POST", signer.url(connection_id), body)
    figures["sigv4_signing_only_cpu_ms"] = round((time.process_time() - cpu) * 1000 / posts, 4)
    receipts = results_in.recv()
    figures["frames_received"] = len(receipts[0])
    clients.join(10)
    gateway.kill()
    return figures


def _process_cpu(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cost(n: int, cpu_start: float, wall_start: float) -> dict[str, float]:
    cpu, wall = time.process_time() - cpu_start, time.perf_counter() - wall_start
    return {"cpu_ms_per_post": round(cpu * 1000 / n, 4), "posts_per_s": round(n / wall)}


def fanout(clients_count: int, events: int) -> dict[str, Any]:
    import dataclasses

    from order_engine.config import Settings
    from order_engine.adapters.redis.ws_registry import RedisConnectionRegistry, Limits
    from order_engine.adapters.redis.key_scheme import KeyScheme
    from order_engine.adapters.redis.connect import async_client, sync_client
    from order_engine.adapters.aws.ws_fanout import ManagementApiNotifier

    _local_credentials()
    port = _free_port()
    gateway = _start_gateway(port)
    ids_in, ids_out = mp.Pipe(duplex=False)
    results_in, results_out = mp.Pipe(duplex=False)
    clients = mp.Process(target=_run_clients,
                         args=(f"ws://127.0.0.1:{port}/local", clients_count, events, ids_out, results_out), daemon=True)
    clients.start()
    ids = ids_in.recv()
    settings = dataclasses.replace(Settings.from_env(), key_prefix=f"bench{uuid.uuid4().hex[:8]}:",
                                   ws_management_endpoint=f"http://127.0.0.1:{port}/local",
                                   ws_publish_timeout_ms=10_000)
    keys, redis = KeyScheme(settings.key_prefix), sync_client(settings.redis_url)
    registry = RedisConnectionRegistry(redis, keys, Limits(settings.ws_max_connection_ms, settings.ws_idle_ms))
    order_id = str(uuid.uuid4())
    now = int(time.time() * 1000)
    for connection_id in ids:
        registry.register(connection_id, now, now)
        registry.mark_open(connection_id)
        registry.subscribe(connection_id, order_id, now, now)

    async def publish_all() -> tuple[list[float], list[float], dict[str, int]]:
        client = async_client(settings.redis_url)
        notifier = ManagementApiNotifier(settings, client, keys)
        starts, publish_ms = [], []
        for seq in range(1, events + 1):
            frame = {"type": "status", "orderId": order_id, "status": "routing", "seq": seq}
            starts.append(time.time() * 1000)
            t0 = time.perf_counter()
            await notifier.publish(order_id, frame)
            publish_ms.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(0.2)
        await notifier.close()
        await client.aclose()
        return starts, publish_ms, dict(notifier.stats)

    starts, publish_ms, stats = asyncio.run(publish_all())
    receipts = results_in.recv()
    clients.join(10)
    gateway.kill()
    redis.delete(*[k for k in redis.scan_iter(match=f"{settings.key_prefix}*", count=1000)] or ["-"])
    per_event = []
    for seq in range(1, events + 1):
        got = [t for client in receipts for s, t in client if s == seq]
        per_event.append(round(max(got) - starts[seq - 1], 1) if got else None)
    seqs = [[s for s, _ in client] for client in receipts]
    return {
        "subscribers": clients_count,
        "events": events,
        "all_received_ms_per_event": per_event,
        "publish_call_ms_per_event": [round(x, 1) for x in publish_ms],
        "missing": sum(events - len(set(s)) for s in seqs),
        "duplicates": sum(len(s) - len(set(s)) for s in seqs),
        "notifier": stats,
    }
