"""The load generator's open-loop end-to-end run (`bench e2e --rate R`) against the local stack: every order sent on
its schedule, watched to its end, each event once and in order, latencies counted from each order's due time."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.support.stack_process import ROOT


def test_an_open_loop_run_sends_on_schedule_and_follows_every_order_to_its_end(local_stack):
    run = subprocess.run([sys.executable, "-m", "local.bench", "e2e", "-n", "30", "--rate", "15", "--in-flight", "20",
                          "-c", "8", "--warmup", "0", "--no-cpu", "--json", "--url", local_stack.http_url,
                          "--ws", local_stack.ws_url, "--api-key", local_stack.api_key or ""],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert "15/s open loop" in report["title"], report["title"]
    assert report["schedule (lag: due -> sent)"]["sent"] == 30
    assert report["orders"]["accepted"] == 30 and report["orders"]["unfinished"] == 0
    assert report["orders"]["confirmed"] + report["orders"]["failed"] == 30
    delivery = report["delivery"]
    assert (delivery["missing"], delivery["duplicates"], delivery["out of order"]) == (0, 0, 0), delivery
    assert report["submit latency (from when each was due)"]["p99 ms"] > 0
