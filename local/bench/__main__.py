"""Load generator for any deployment of the API (the local stack by default): one tool, subcommands.

    python -m local.bench submit -n 5000 -c 64                 # submit throughput and latency
    python -m local.bench submit -n 2000 --rate 100            # open loop: 100 submits/s on a fixed schedule
    python -m local.bench e2e -n 5000 -c 64                    # end to end: every order watched over WebSocket
    python -m local.bench e2e -n 10000 --in-flight 1000        # ... with at most 1,000 orders unfinished at once
    python -m local.bench e2e -n 600 --rate 10 --in-flight 200  # ... open loop: 10 orders/s on a fixed schedule
    python -m local.bench get -n 5000 -c 8                     # GET /api/orders/{id} in a loop, CPU per call
    python -m local.bench ipc -n 5000                          # the local runtime's IPC overhead
    python -m local.bench post-cost                            # CPU per management-API post (boto3 vs pooled)
    python -m local.bench fanout --clients 1000                # one event to N subscribers
    python -m local.bench compare --peer-dir /work/peer        # ours against the peer, runs A, B, C x 3 (compare.py)

`submit` sends N orders (alternating the two seed request shapes) from C concurrent clients and reports accepted
orders/s, latency p50/p95/p99 and errors by status.

`get` submits `--orders` orders, then reads them with GET /api/orders/{orderId} N times from C clients, and reports
calls/s and latency; its CPU figures are per call.

`e2e` submits the same way and watches every order over the WebSocket API until the client holds its whole
timeline (seq 1 up to `confirmed` or `failed`, without gaps): by default over a few long-lived connections that
`subscribe` to each order (`--watch subscribe`), or with a connection of its own per order (`--watch connect`, the
`?orderId=` URL that submit hands back). It reports confirmed orders/s (and per minute), time to confirmed
(submit sent to the `confirmed` frame received) p50/p99, event delivery delay (the event's server time `at` to
its receipt, for events that happened after the client subscribed) p50/p99, and missing, duplicate and
out-of-order events. The client runs on the same machine as the stack, so it shares its CPU.

Against a stack on this machine, `submit` and `e2e` also report CPU per order (per accepted order for `submit`, per
confirmed order for `e2e`) by process group: utime + stime from /proc before and after the counted run, for the
gateway, each function's workers, the PostgreSQL backends of the stack's connections, the PostgreSQL server's
background processes and the Redis server, with the load generator's own CPU apart (local/bench/cpu.py).
`--database-url`/`--redis-url` (default DATABASE_URL/REDIS_URL) name the servers the stack uses; `--no-cpu` skips it.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys

from local.bench import auth, ws_delivery
from local.bench.cpu import CpuMeter
from local.bench.get import get_report, run_gets, submitted_orders
from local.bench.e2e import e2e_report, run_e2e, run_unwatched
from local.bench.ipc import measure_ipc
from local.bench.pacing import Pacing
from local.bench.report import Report
from local.bench.submit_load import MIXES, OrderMix, run_submits, submit_report

WARMUP_SETTLE_S = 3.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default="http://127.0.0.1:3000", help="base URL of the HTTP API")
    common.add_argument("--api-key", default=os.environ.get("ORDER_ENGINE_API_KEY"),
                        help="the API key (default ORDER_ENGINE_API_KEY; python -m local.key_admin create --client bench "
                             "--rate 100000 --burst 100000 makes one its rate limit does not hold back)")
    common.add_argument("-n", "--count", type=int, default=5000)
    common.add_argument("-c", "--concurrency", type=int, default=64, help="submit requests at once")
    common.add_argument("--json", action="store_true", help="print the figures as JSON")
    common.add_argument("--no-cpu", action="store_true", help="no CPU per process group (a remote deployment)")
    common.add_argument("--stack-pid", type=int, help="the stack's process (default: the one listening on --url)")
    common.add_argument("--database-url", default=os.environ.get("DATABASE_URL", "postgresql://127.0.0.1:5432"),
                        help="the stack's PostgreSQL (its port finds the backends)")
    common.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"),
                        help="the stack's Redis (its port finds the server)")
    p = sub.add_parser("submit", parents=[common], help="submit throughput and latency")
    p.add_argument("--warmup", type=int, default=200, help="submits sent (and not counted) first")
    p.add_argument("--rate", type=float, help="open loop: R submits a second on a fixed schedule, latency from each "
                                              "one's due time; -c is then only a cap on unanswered submits")
    e = sub.add_parser("e2e", parents=[common], help="submit and watch every order over WebSocket to the end")
    e.add_argument("--ws", default="ws://127.0.0.1:3001/local", help="the WebSocket API's URL")
    e.add_argument("--in-flight", type=int, default=1000, help="most orders submitted and not yet complete")
    e.add_argument("--watch", choices=["subscribe", "connect", "none"], default="subscribe",
                   help="subscribe over shared connections, a ?orderId= connection per order, or none (confirmed "
                        "counts from GET /api/queue only; --in-flight is then the executor's MAX_IN_FLIGHT)")
    e.add_argument("--connections", type=int, default=16, help="shared connections (--watch subscribe)")
    e.add_argument("--timeout", type=float, default=120.0, help="seconds an order may take, from its submit")
    e.add_argument("--warmup", type=int, default=200, help="orders run (and not counted) first")
    e.add_argument("--rate", type=float, help="open loop: R orders a second on a fixed schedule, latencies from each "
                                              "one's due time; -c caps unanswered submits, --in-flight unfinished orders")
    g = sub.add_parser("get", parents=[common], help="GET /api/orders/{orderId} in a loop: CPU per call")
    g.add_argument("--orders", type=int, default=50, help="orders submitted first, then read in turn")
    g.add_argument("--warmup", type=int, default=500, help="reads made (and not counted) first")
    e.add_argument("--mix", choices=sorted(MIXES), default="default",
                   help="order sizes: default (0.5-2.25 SOL, 25-350 USDC/USDT) or wide (0.5-2,500 SOL and the same "
                        "in dollars, log-spaced)")
    e.add_argument("--dynamic-slippage", metavar="MIN,MAX",
                   help="send dynamicSlippage {minBps: MIN, maxBps: MAX} on every order instead of slippageBps")
    sub.add_parser("ipc", parents=[common], help="the local runtime's IPC overhead")
    pc = sub.add_parser("post-cost", help="CPU per management-API post: boto3 vs the pooled signed client")
    pc.add_argument("--posts", type=int, default=3000)
    sub.add_parser("compare", help="ours against the peer engine, each started here (python -m local.bench compare -h)")
    f = sub.add_parser("fanout", help="one order's events to N subscribers through the notifier")
    f.add_argument("--clients", type=int, default=1000)
    f.add_argument("--events", type=int, default=5)
    for command in (pc, f):
        command.add_argument("--json", action="store_true", help="print the figures as JSON")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "compare":  # its own options (local/bench/compare.py)
        from local.bench.compare import main as compare_main

        return compare_main(argv[1:])
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv.insert(0, "submit")  # the default, as before subcommands
    args = parser.parse_args(argv)
    auth.use(getattr(args, "api_key", None))

    def meter() -> contextlib.AbstractAsyncContextManager[CpuMeter | None]:
        if args.no_cpu:
            return contextlib.nullcontext()
        return CpuMeter.for_stack(args.url, args.database_url, args.redis_url, args.stack_pid)

    def add_cpu(report: Report, cpu: CpuMeter | None, orders: int, per: str) -> Report:
        if cpu is not None:
            report.add(f"CPU per {per} order ({orders:,} orders; utime+stime)", cpu.figures(orders))
        return report

    def order_mix() -> OrderMix:
        bounds = getattr(args, "dynamic_slippage", None)
        return OrderMix(getattr(args, "mix", "default"),
                        None if not bounds else tuple(int(b) for b in bounds.split(",", 1)))

    async def run() -> Report:
        if args.mode == "ipc":
            return await measure_ipc(args.count, min(args.concurrency, 4))
        if args.mode == "get":
            order_ids = await submitted_orders(args.url, args.orders)
            await asyncio.sleep(1.0)  # the executor's work on them is over before the counted reads
            if args.warmup:
                await run_gets(args.url, order_ids, args.warmup, args.concurrency)
            async with meter() as cpu:
                results, elapsed = await run_gets(args.url, order_ids, args.count, args.concurrency)
            report = get_report(results, elapsed, args.url, args.concurrency)
            if cpu is not None:
                report.add(f"CPU per call ({len(results):,} calls; utime+stime)", cpu.figures(len(results)))
            return report
        if args.mode == "e2e" and args.watch == "none":
            if args.warmup:  # every pool's workers started, so the counted run measures warm ones (as Lambda)
                await run_unwatched(args.url, args.warmup, min(args.concurrency, args.warmup), args.timeout)
            async with meter() as cpu:
                report, figures = await run_unwatched(args.url, args.count, args.concurrency, args.timeout, order_mix(),
                                                      args.rate)
            report.title = f"e2e (unwatched, counts from /api/queue): {report.title}"
            report.add("end to end", figures)
            return add_cpu(report, cpu, figures["confirmed"], "confirmed")
        if args.mode == "e2e":
            if args.warmup:
                await run_e2e(args.url, args.ws, args.warmup, min(args.concurrency, args.warmup), args.in_flight,
                              args.watch, args.connections, args.timeout)
                # the warm-up's connections have just closed: their $disconnect (and its workers' cold starts) run
                # before the counted run, not inside it
                await asyncio.sleep(WARMUP_SETTLE_S)
            pacing = Pacing(args.rate) if args.rate else None
            async with meter() as cpu:
                result = await run_e2e(args.url, args.ws, args.count, args.concurrency, args.in_flight, args.watch,
                                       args.connections, args.timeout, order_mix(), pacing)
            confirmed = sum(1 for o in result[0] if o.terminal == "confirmed")
            return add_cpu(e2e_report(*result, args, pacing), cpu, confirmed, "confirmed")
        if args.warmup:
            await run_submits(args.url, args.warmup, min(args.concurrency, args.warmup))
        async with meter() as cpu:
            results, elapsed, pacing = await run_submits(args.url, args.count, args.concurrency, rate=args.rate)
        accepted = sum(1 for r in results if r.status == 202)
        return add_cpu(submit_report(results, elapsed, args.url, args.concurrency, pacing), cpu, accepted, "accepted")

    if args.mode in ("post-cost", "fanout"):
        figures = (ws_delivery.post_cost(min(args.posts, 20_000)) if args.mode == "post-cost"
                   else ws_delivery.fanout(min(args.clients, 5_000), min(args.events, 50)))
        report = Report(f"{args.mode}")
        report.add("figures", figures)
    else:
        try:
            import uvloop
        except ImportError:  # optional
            uvloop = None
        report = uvloop.run(run()) if uvloop else asyncio.run(run())
    print(json.dumps(report.as_dict(), indent=2, default=str) if args.json else report.text())
    sys.stdout.flush()


if __name__ == "__main__":
    main()
