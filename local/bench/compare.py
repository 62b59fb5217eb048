"""`python -m local.bench compare`: ours against the peer (AkshajIITD/OrderExecutionEngine, prepared in a folder
outside this repository: docs/benchmarks-compare.md), with the same order mix and the same client
(local/bench/compare_client.py), the peer through its own routes. One command starts each engine on a fresh
database and a Redis of its own, runs it, stops it, and prints the table:

    python -m local.bench compare --peer-dir /work/peer                    # A, B, C x 3, 2,000 orders each
    python -m local.bench compare --peer-dir /work/peer -n 200 --repetitions 1   # a smoke check

The runs (each a closed loop: every slot submits an order, follows it to its end, submits the next):
- A: zero venue latency, 64 in flight, each order polled with GET every 50 ms until terminal;
- B: zero venue latency, 64 in flight, one WebSocket per order (terminal frames missing and late counted);
- C: realistic venue latency (ours DEX_LATENCY_SCALE=1, the peer's mock DEX unscaled), 200 in flight, one
  WebSocket per order: orders per minute and submit p99 are its figures.
Interleaved: repetition 1 runs A ours, A peer, B ours, B peer, C ours, C peer; repetition 2 the same with the
peer first; and so on. Each (run, engine) first sends `--warmup` orders the same way (not counted), waits 3 s,
then counts. CPU is utime + stime per confirmed order by process group, from /proc (local/bench/cpu.py), over the
counted orders only; the client (this process) is not in any group. The engine total leaves out the PostgreSQL
server's background processes (shared with every database of the server), shown apart.

The machine is shared with the client: figures are comparable only within one sitting on a quiet machine.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from local.bench.compare_client import Order, run_orders
from local.bench.engines import OurEngine
from local.bench.peer import PeerEngine
from local.bench.report import percentile
from local.bench.submit_load import OrderMix, order_bodies

SHARED_GROUP = "postgres background (whole server)"
SETTLE_S = 3.0


@dataclass(frozen=True)
class Run:
    name: str
    latency_scale: float
    watch: str  # "poll" or "ws"
    in_flight: int
    label: str


def runs_for(in_flight_a: int = 64, in_flight_b: int = 64, in_flight_c: int = 200) -> dict[str, Run]:
    return {
        "A": Run("A", 0.0, "poll", in_flight_a, f"A: latency 0, GET every 50 ms, {in_flight_a} in flight"),
        "B": Run("B", 0.0, "ws", in_flight_b, f"B: latency 0, a WebSocket per order, {in_flight_b} in flight"),
        "C": Run("C", 1.0, "ws", in_flight_c, f"C: realistic latency, a WebSocket per order, {in_flight_c} in flight"),
    }


def schedule(runs: list[str], repetitions: int, engines: list[str]) -> Iterator[tuple[int, str, str]]:
    """(repetition, run, engine) in the order to run them: every run of a repetition in turn, each engine in
    turn within a run, the engines' order reversed every other repetition (so neither always goes first)."""
    for rep in range(repetitions):
        order = engines if rep % 2 == 0 else engines[::-1]
        for run in runs:
            for engine in order:
                yield rep, run, engine


def short_group(group: str) -> str:
    """A process group's name as the table shows it: ours `worker order-engine-local-executor` -> `executor`."""
    if group.startswith("worker "):
        return group[len("worker "):].rsplit("-", 1)[-1] if "-ws-" not in group else "ws-" + group.rsplit("-ws-", 1)[1]
    return group


def run_figures(orders: list[Order], elapsed_s: float, watch: str, cpu_seconds: dict[str, float] | None,
                late_s: float = 1.0) -> dict[str, Any]:
    """The figures of one counted run: what the table shows, and the CPU ms per confirmed order by group."""
    accepted = [o for o in orders if o.order_id is not None]
    confirmed = [o for o in accepted if o.terminal == "confirmed"]
    failed = [o for o in accepted if o.terminal == "failed"]
    submit_ms = [o.submit_s * 1000 for o in orders]
    figures: dict[str, Any] = {
        "orders": len(orders), "accepted": len(accepted), "submit errors": len(orders) - len(accepted),
        "confirmed": len(confirmed), "failed": len(failed),
        "unfinished": len(accepted) - len(confirmed) - len(failed), "wall s": elapsed_s,
        "confirmed/s": len(confirmed) / elapsed_s if elapsed_s > 0 else 0.0,
        "confirmed/min": 60 * len(confirmed) / elapsed_s if elapsed_s > 0 else 0.0,
        "submit p50 ms": percentile(submit_ms, 50), "submit p99 ms": percentile(submit_ms, 99),
        "missing terminal frames": None, "late terminal frames": None,
    }
    if watch == "ws":
        ended = [o for o in accepted if o.terminal is not None]
        # a frame is missing from a socket that opened; a handshake that failed is counted apart
        figures["missing terminal frames"] = sum(1 for o in ended if o.frame_missing and o.ws_opened)
        figures["websocket not opened"] = sum(1 for o in accepted if not o.ws_opened)
        figures["websocket errors"] = dict(collections.Counter(o.watch_error for o in accepted if o.watch_error))
        delays = [o.frame_delay_s * 1000 for o in ended if o.frame_delay_s is not None]
        figures["terminal frame delay p50 ms"] = percentile(delays, 50)
        figures["terminal frame delay p99 ms"] = percentile(delays, 99)
        figures["late terminal frames"] = sum(1 for o in ended if o.frame_delay_s is not None
                                              and o.frame_delay_s > late_s)
    else:
        figures["polls per order"] = (sum(o.polls for o in accepted) / len(accepted)) if accepted else 0.0
    if cpu_seconds is not None:
        per = 1000 / len(confirmed) if confirmed else float("nan")
        by_group = {short_group(g): s * per for g, s in sorted(cpu_seconds.items(), key=lambda kv: -kv[1])}
        figures["cpu ms"] = by_group
        figures["cpu total ms"] = sum(s for g, s in cpu_seconds.items() if g != SHARED_GROUP) * per
    return figures


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    if value != value:  # nan
        return "n/a"
    return f"{value:,.{digits}f}"


def _cell(values: Iterable[str]) -> str:
    shown = list(values)
    return "-" if all(v == "-" for v in shown) else ", ".join(shown)


def table(results: list[dict[str, Any]], runs: dict[str, Run]) -> str:
    """The summary: one row per run and engine, each cell the repetitions' figures in the order taken."""
    lines = ["| run | engine | confirmed/s | confirmed/min | CPU ms per confirmed order (client excluded) "
             "| submit p50 / p99 ms | missing terminal frames | late terminal frames | WebSocket not opened "
             "| failed / unfinished | submit errors |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        first = True
        for engine in dict.fromkeys(r["engine"] for r in results):
            rows = [r["figures"] for r in results if r["run"] == run and r["engine"] == engine]
            if not rows:
                continue
            frames = [(f["missing terminal frames"], f["late terminal frames"]) for f in rows]
            lines.append("| " + " | ".join([
                runs[run].label if first else "", engine,
                _cell(_num(f["confirmed/s"]) for f in rows), _cell(_num(f["confirmed/min"], 0) for f in rows),
                "**" + _cell(_num(f.get("cpu total ms")) for f in rows) + "**",
                "; ".join(f"{_num(f['submit p50 ms'])} / {_num(f['submit p99 ms'])}" for f in rows),
                _cell(_num(m, 0) for m, _ in frames), _cell(_num(late, 0) for _, late in frames),
                _cell(_num(f.get("websocket not opened"), 0) for f in rows),
                _cell(f"{f['failed']} / {f['unfinished']}" for f in rows),
                _cell(str(f["submit errors"]) for f in rows),
            ]) + " |")
            first = False
    return "\n".join(lines)


def group_table(results: list[dict[str, Any]], runs: dict[str, Run], engine: str) -> str:
    """CPU ms per confirmed order by process group for one engine: a row per group, a column per run (the
    repetitions in the order taken); the shared PostgreSQL background last, outside the total."""
    mine = [r for r in results if r["engine"] == engine and "cpu ms" in r["figures"]]
    if not mine:
        return ""
    totals: dict[str, float] = {}
    for r in mine:
        for group, ms in r["figures"]["cpu ms"].items():
            totals[group] = totals.get(group, 0.0) + (ms if ms == ms else 0.0)
    shared = short_group(SHARED_GROUP)
    # a group that spent nothing in any run (a function this client does not call) has no row
    groups = sorted((g for g in totals if totals[g] >= 0.05 * len(mine)), key=lambda g: (g == shared, -totals[g]))
    present = [run for run in runs if any(r["run"] == run for r in mine)]
    lines = [f"| {engine}: CPU ms per confirmed order | " + " | ".join(present) + " |",
             "|---|" + "---|" * len(present)]
    for group in groups:
        cells = [_cell(_num(r["figures"]["cpu ms"].get(group, 0.0)) for r in mine if r["run"] == run)
                 for run in present]
        name = f"{group} (not in the total)" if group == shared else group
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def mean_of(results: list[dict[str, Any]], run: str, engine: str, key: str) -> float:
    values = [r["figures"][key] for r in results if r["run"] == run and r["engine"] == engine
              and r["figures"].get(key) is not None]
    return statistics.fmean(values) if values else float("nan")


async def one_run(engine: Any, run: Run, count: int, warmup: int, timeout_s: float, late_s: float, grace_s: float,
                  log_dir: Path, cpu: bool, mix: OrderMix) -> dict[str, Any]:
    started = time.time()
    await engine.start(run.latency_scale, log_dir)
    timings = {"start s": time.time() - started}
    try:
        routes = engine.routes()
        bodies = order_bodies(mix)
        warmup_started = time.time()
        if warmup:
            # as many at once as the counted run, so every pool has its workers started before counting
            await run_orders(routes, bodies, warmup, min(run.in_flight, warmup), run.watch, timeout_s,
                             grace_s=grace_s, late_s=late_s, database_url=engine.database_url)
            await asyncio.sleep(SETTLE_S)
        timings["warm-up s (and settle)"] = time.time() - warmup_started
        bodies = order_bodies(mix)  # the counted run sends the same sequence to every engine
        meter = engine.meter() if cpu else None
        async with (meter if meter is not None else contextlib.nullcontext()):
            orders, elapsed = await run_orders(routes, bodies, count, run.in_flight, run.watch, timeout_s,
                                               grace_s=grace_s, late_s=late_s, database_url=engine.database_url)
        seconds = meter.seconds_by_group() if meter is not None else None
        figures = run_figures(orders, elapsed, run.watch, seconds, late_s)
        if meter is not None:
            figures["client cpu ms"] = (meter.client_cpu - meter.client_before) * 1000 / max(1, figures["confirmed"])
    finally:
        stopping = time.time()
        await engine.stop()
        timings["stop s"] = time.time() - stopping
    figures.update(timings)
    figures["run wall s (start to stop)"] = time.time() - started
    return figures


async def compare(args: argparse.Namespace) -> list[dict[str, Any]]:
    runs = runs_for(args.in_flight_a, args.in_flight_b, args.in_flight_c)
    engines = {
        "ours": OurEngine(admin_url=args.admin_url, http_port=args.our_port, ws_port=args.our_port + 1,
                          lambda_port=args.our_port + 2, redis_port=args.our_redis_port),
        "peer": PeerEngine(Path(args.peer_dir or ".").resolve(), admin_url=args.admin_url, http_port=args.peer_port,
                           redis_port=args.peer_redis_port),
    }
    chosen = [e for e in args.engines.split(",") if e]
    log_dir = Path(args.log_dir or tempfile.mkdtemp(prefix="bench-compare-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    plan = list(schedule([r for r in args.runs.split(",") if r], args.repetitions, chosen))
    results = []
    for i, (rep, run, engine) in enumerate(plan, 1):
        print(f"[{i}/{len(plan)}] repetition {rep + 1}: {runs[run].label}: {engine} ...", file=sys.stderr, flush=True)
        figures = await one_run(engines[engine], runs[run], args.count, args.warmup, args.timeout, args.late_ms / 1000,
                                args.frame_grace, log_dir, not args.no_cpu, OrderMix())
        frames = (f", terminal frame delay p50 {_num(figures['terminal frame delay p50 ms'], 0)} ms p99 "
                  f"{_num(figures['terminal frame delay p99 ms'], 0)} ms" if runs[run].watch == "ws" else "")
        print(f"    confirmed {figures['confirmed']}/{figures['orders']}, {figures['confirmed/s']:.1f}/s, CPU "
              f"{_num(figures.get('cpu total ms'))} ms/order{frames}, {figures['run wall s (start to stop)']:.0f} s",
              file=sys.stderr, flush=True)
        results.append({"repetition": rep + 1, "run": run, "engine": engine, "figures": figures})
        if args.save:
            Path(args.save).write_text(json.dumps({"runs": {k: asdict(v) for k, v in runs.items()},
                                                   "results": results}, indent=2, default=str))
    print(f"logs: {log_dir}", file=sys.stderr)
    return results


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--peer-dir", help="the prepared peer (docs/benchmarks-compare.md); needed with --engines peer")
    p.add_argument("-n", "--count", type=int, default=2000, help="counted orders per run (each run, each engine)")
    p.add_argument("--repetitions", type=int, default=3)
    p.add_argument("--runs", default="A,B,C", help="which runs, in order (A,B,C)")
    p.add_argument("--engines", default="ours,peer", help="which engines, in the first repetition's order")
    p.add_argument("--warmup", type=int, default=200,
                   help="orders each run sends first, not counted (at least the run's in-flight, so every pool has "
                        "its workers started)")
    p.add_argument("--in-flight-a", type=int, default=64)
    p.add_argument("--in-flight-b", type=int, default=64)
    p.add_argument("--in-flight-c", type=int, default=200)
    p.add_argument("--timeout", type=float, default=120.0, help="seconds an order may take from its submit")
    p.add_argument("--late-ms", type=float, default=1000.0,
                   help="a terminal frame is late past this (from its `at`, or the connection for a replay)")
    p.add_argument("--frame-grace", type=float, default=10.0,
                   help="seconds a socket stays open for its terminal frame once the engine's database has the "
                        "order over (its slot moves on after --late-ms); past that the frame is missing")
    p.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432",
                   help="the PostgreSQL server both engines get a fresh database on")
    p.add_argument("--our-port", type=int, default=3290, help="our HTTP port (WebSocket +1, Lambda API +2)")
    p.add_argument("--our-redis-port", type=int, default=6394)
    p.add_argument("--peer-port", type=int, default=3295)
    p.add_argument("--peer-redis-port", type=int, default=6391)
    p.add_argument("--log-dir", help="the engines' logs (default a new temporary folder)")
    p.add_argument("--save", help="write every run's figures to this JSON file as they come")
    p.add_argument("--no-cpu", action="store_true")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local.bench compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(argv)
    if "peer" in args.engines.split(",") and not args.peer_dir:
        parser.error("--peer-dir is needed to run the peer (or --engines ours)")
    if args.count > 20_000 or args.repetitions > 10:
        parser.error("at most 20,000 orders a run and 10 repetitions")
    started = time.time()
    try:
        import uvloop
    except ImportError:
        uvloop = None
    results = uvloop.run(compare(args)) if uvloop else asyncio.run(compare(args))
    runs = runs_for(args.in_flight_a, args.in_flight_b, args.in_flight_c)
    print(f"compare: {args.count:,} orders a run, {args.repetitions} repetition(s), "
          f"{(time.time() - started) / 60:.1f} min in all\n")
    print(table(results, {k: v for k, v in runs.items() if k in args.runs.split(",")}))
    for engine in dict.fromkeys(r["engine"] for r in results):
        print()
        print(group_table(results, runs, engine))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
