"""Opt-in (`LOCALSTACK=1 ./local/test tests/deploy -n 0`): ./local/deploy --localstack against LocalStack's free
edition in host mode (started by the script, localstack-core 4.13.1 in .venv-localstack) stops before deploying
and names what it refuses: API Gateway v2 for the HTTP and WebSocket APIs, Lambda that runs code for the functions.
Off by default because the first run installs LocalStack (a few minutes)."""
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not os.environ.get("LOCALSTACK"), reason="opt-in: LOCALSTACK=1")


def test_localstack_free_edition_is_refused_by_resource_and_reason_before_anything_deploys(tmp_path):
    # the preflight reads only the template: the source one stands in for the built one
    result = subprocess.run(
        [str(ROOT / "local" / "deploy"), "--localstack", "--build-dir", str(ROOT), "--stack-name", "oe-preflight-test",
         "--database-url", "postgresql://postgres@127.0.0.1:5432/unused", "--redis-url", "redis://127.0.0.1:6379/0",
         "--cursor-secret", "x"], capture_output=True, text=True, timeout=900)
    out = result.stdout + result.stderr
    assert result.returncode == 3, out
    for served in ("CloudFormation", "S3 (artifacts)", "IAM", "EventBridge", "Lambda (control plane"):
        assert f"serves   {served}" in out
    assert "REFUSES  API Gateway v2" in out and "REFUSES  Lambda (running functions)" in out
    assert "WebSocketApi" in out and "HttpApi" in out and "SubmitFunction" in out
    assert "Not deploying" in out
