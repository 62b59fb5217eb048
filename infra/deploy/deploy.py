"""Deploys the built template (`sam build`'s .aws-sam/build) to AWS or to any endpoint that speaks its APIs
(LocalStack: `--endpoint http://127.0.0.1:4566` or AWS_ENDPOINT_URL), runs the migrations against the target
database, reads the stack's outputs and smoke-tests the deployment (submit, follow over WebSocket, history).

Against an endpoint other than AWS it first probes every service the template needs (infra/deploy/preflight.py)
and stops, naming the resources refused and why, before anything is deployed.

    python -m infra.deploy.deploy --stack-name order-engine --database-url ... --redis-url ... --cursor-secret ...
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3

from infra.deploy.preflight import SERVICE_NAMES, Prober, needed_services
from infra.deploy.smoke import SmokeFailed, smoke
from local.cloudformation import load_yaml

ROOT = Path(__file__).resolve().parents[2]
REFUSED_EXIT = 3


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--stack-name", default="order-engine")
    p.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    p.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"),
                   help="an endpoint other than AWS (AWS_ENDPOINT_URL); its services are probed first")
    p.add_argument("--build-dir", type=Path, default=ROOT / ".aws-sam" / "build")
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    p.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
    p.add_argument("--cursor-secret", default=os.environ.get("CURSOR_SECRET", ""))
    p.add_argument("--secret-arn", default="", help="a Secrets Manager secret with DATABASE_URL, REDIS_URL, CURSOR_SECRET")
    p.add_argument("--subnet-ids", default="", help="comma-separated, for functions in a VPC")
    p.add_argument("--security-group-ids", default="")
    p.add_argument("--s3-bucket", default="", help="artifact bucket (default: sam's managed one; off AWS, created)")
    p.add_argument("--sam", default=str(ROOT / ".venv-deploy" / "bin" / "sam"))
    p.add_argument("--skip-smoke", action="store_true")
    return p.parse_args(argv)


class Deployer:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.session = boto3.session.Session(region_name=args.region)

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.args.endpoint or None)

    def built_template(self) -> dict[str, Any]:
        path = self.args.build_dir / "template.yaml"
        if not path.is_file():
            raise SystemExit(f"{path} is missing: build first (`sam build`, or ./local/check-deploy)")
        return load_yaml(path.read_text())

    def preflight(self, template: dict[str, Any]) -> bool:
        """True when the endpoint serves everything; prints what it serves and what it refuses."""
        resources = template.get("Resources") or {}
        needs = needed_services(resources)
        runtime = ((template.get("Globals") or {}).get("Function") or {}).get("Runtime", "python3.12")
        probes = Prober(self.client, runtime, self.artifact_bucket()).run(list(needs))
        refused = [p for p in probes if p.refused]
        print(f"preflight against {self.args.endpoint}:")
        for probe in probes:
            verdict = "serves" if not probe.refused else "REFUSES"
            print(f"  {verdict:8} {SERVICE_NAMES[probe.service]}")
        if not refused:
            return True
        print(f"\nNot deploying: {self.args.endpoint} refuses services the template needs.", file=sys.stderr)
        for probe in refused:
            ids = needs[probe.service]
            print(f"- {SERVICE_NAMES[probe.service]}: refused ({probe.refused})\n"
                  f"  needed by {len(ids)} resources: {', '.join(ids)}", file=sys.stderr)
        print("LocalStack's free edition has no API Gateway v2 and runs Lambda code only in Docker; deploy to AWS, "
              "to a LocalStack edition with API Gateway v2 and Docker, or run the engine locally with ./local/up.",
              file=sys.stderr)
        return False

    def artifact_bucket(self) -> str:
        return self.args.s3_bucket or f"{self.args.stack_name}-artifacts"

    def parameter_overrides(self) -> list[str]:
        a = self.args
        values = {"DatabaseUrl": a.database_url, "RedisUrl": a.redis_url, "CursorSecret": a.cursor_secret,
                  "SecretArn": a.secret_arn, "SubnetIds": a.subnet_ids, "SecurityGroupIds": a.security_group_ids}
        return [f"{k}={v}" for k, v in values.items() if v]

    def sam_deploy(self) -> None:
        a = self.args
        command = [a.sam, "deploy", "--template-file", str(a.build_dir / "template.yaml"), "--stack-name",
                   a.stack_name, "--region", a.region, "--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND",
                   "--no-confirm-changeset", "--no-fail-on-empty-changeset"]
        command += ["--s3-bucket", self.artifact_bucket()] if (a.s3_bucket or a.endpoint) else ["--resolve-s3"]
        overrides = self.parameter_overrides()
        if overrides:
            command += ["--parameter-overrides", *overrides]
        env = {**os.environ, "SAM_CLI_TELEMETRY": "0", **({"AWS_ENDPOINT_URL": a.endpoint} if a.endpoint else {})}
        subprocess.run(command, check=True, env=env)

    def database_url(self) -> str:
        if not self.args.secret_arn:
            return self.args.database_url
        secret = self.client("secretsmanager").get_secret_value(SecretId=self.args.secret_arn)["SecretString"]
        return json.loads(secret)["DATABASE_URL"]

    def migrate(self) -> None:
        env = {**os.environ, "DATABASE_URL": self.database_url()}
        subprocess.run([sys.executable, "-m", "order_engine.adapters.postgres.migrations"], check=True, env=env)

    def outputs(self) -> dict[str, str]:
        stack = self.client("cloudformation").describe_stacks(StackName=self.args.stack_name)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not args.secret_arn and not (args.database_url and args.redis_url and args.cursor_secret):
        print("give --database-url, --redis-url and --cursor-secret (or --secret-arn)", file=sys.stderr)
        return 2
    deployer = Deployer(args)
    template = deployer.built_template()
    if args.endpoint and not deployer.preflight(template):
        return REFUSED_EXIT
    deployer.sam_deploy()
    print("== migrations against the target database")
    deployer.migrate()
    outputs = deployer.outputs()
    print("== stack outputs\n" + "\n".join(f"  {k}: {v}" for k, v in outputs.items()))
    if args.skip_smoke:
        return 0
    try:
        result = asyncio.run(smoke(outputs["HttpApiUrl"].rstrip("/"), outputs["WebSocketUrl"]))
    except SmokeFailed as exc:
        print(f"smoke test FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"smoke test ok: order {result['orderId']} went {' -> '.join(result['statuses'])} in {result['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
