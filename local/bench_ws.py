"""WebSocket delivery micro-benchmarks, run through the one load-generator CLI (bounded; loopback only).

  python -m local.bench post-cost [--posts 3000]
      CPU per management-API post from the posting process: boto3's post_to_connection versus the notifier's
      SigV4-signed pooled aiohttp client (and an unsigned aiohttp post for reference), against the local gateway
      running in a process of its own with a real WebSocket client on the other end.
  python -m local.bench fanout [--clients 1000] [--events 5]
      One order with N subscribers: time from `notifier.publish` to the last client's receipt, per event, plus
      missing and duplicate deliveries. Gateway and clients each run in a process of their own; the notifier
      publishes from this one, as the executor does.

Orders watched end to end over WebSocket against a running stack are `python -m local.bench e2e` (local/bench.py).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
TERMINAL = ("confirmed", "failed")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# the gateway under test, with no functions behind it: every connection is accepted; a message is answered
# with the connection's id, so clients learn the id a publisher must post to
def _serve_gateway(port: int, ready: Any) -> None:
    from aiohttp import web

    from local.template import load_template
    from local.ws_gateway import WS_GATEWAY, create_ws_app

    async def main() -> None:
    from local.bench import main as bench_main

    bench_main()  # one tool: `python -m local.bench post-cost|fanout|e2e ...`


if __name__ == "__main__":
    main()
