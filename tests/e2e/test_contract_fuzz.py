"""Contract fuzzing: schemathesis generates requests from the OpenAPI document the local stack serves and sends them
over real HTTP, through all its phases (coverage: boundary values, missing and malformed parameters, undeclared
methods; fuzzing; stateful: submit then read through the Location link). It fails the test for any 5xx, any
status, content type, header or body the document does not list, an undeclared method not answered 405 with
Allow, data invalid by the document accepted, or data valid by it refused for a rule the document does not name
(tests/support/contract_hooks.py).

CONTRACT_FUZZ_EXAMPLES sets the examples per operation (the CI profile: 150, about 1,700 test cases and more
requests, in about two minutes on the 2-core machine); docs/testing.md gives the longer run.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = os.environ.get("CONTRACT_FUZZ_EXAMPLES", "150")


def test_the_api_answers_exactly_as_its_document_says(start_engine, tmp_path, capsys):
    # a stack of its own without venue latency: the orders fuzzing submits finish quickly and disturb no other test
    # (and no rate limit in the way: fuzzing submits faster than a key's default allows)
    stack = start_engine(DEX_LATENCY_SCALE="0", RATE_LIMIT_PER_S="100000", RATE_LIMIT_BURST="100000")
    command = [
        str(Path(sys.executable).with_name("st")), "run", f"{stack.http_url}/api/openapi.json",
        "--max-examples", EXAMPLES, "--workers", "2", "--generation-deterministic", "--no-color",
        # positive_data_acceptance: replaced by valid_requests_are_accepted (the hooks). use_after_free: DELETE on an
        # order cancels it, a change of state, not a removal: the cancelled order stays readable, as its history is.
        "--exclude-checks", "positive_data_acceptance,use_after_free",
        "--request-timeout", "30", "--max-failures", "20", "--header", f"Authorization: Bearer {stack.api_key}",
        "--report", "har", "--report-har-path", str(tmp_path / "requests.har"),
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.support.contract_hooks", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    output = result.stdout + result.stderr
    summary = re.search(r"Test cases:\s*\n\s*(.+)", output)
    har = tmp_path / "requests.har"
    sent = len(json.loads(har.read_text())["log"]["entries"]) if har.exists() else 0
    with capsys.disabled():
        print(f"\nschemathesis, {EXAMPLES} examples per operation: {summary[1] if summary else '?'}; {sent} requests")
    assert result.returncode == 0, output[-12_000:]
    assert summary and int(summary[1].split()[0]) >= 500, output[-4000:]
