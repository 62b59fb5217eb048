"""Before deploying to an endpoint other than AWS (LocalStack, say), find out which of the services the template
needs it really serves, by creating (and removing) a small resource of each kind, so that a missing service is
reported by resource and reason, not as a stack that fails half-way."""
from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any, Callable

from botocore.exceptions import BotoCoreError, ClientError

# the service each resource type of the built template needs ("lambda-run": Lambda that runs code, beyond its
# control plane); Schedule events need EventBridge
SERVICE_OF_TYPE = {
    "AWS::Serverless::Function": "lambda-run",
    "AWS::Serverless::LayerVersion": "lambda",
    "AWS::Lambda::Permission": "lambda",
    "AWS::Serverless::HttpApi": "apigatewayv2",
    "AWS::IAM::ManagedPolicy": "iam",
}
SERVICE_NAMES = {
    "cloudformation": "CloudFormation", "s3": "S3 (artifacts)", "iam": "IAM", "events": "EventBridge",
    "lambda": "Lambda (control plane: layers, permissions)", "lambda-run": "Lambda (running functions)",
    "apigatewayv2": "API Gateway v2 (HTTP and WebSocket APIs, @connections)",
}


def needed_services(resources: dict[str, Any]) -> dict[str, list[str]]:
    """service -> the template's logical ids that need it."""
    needs: dict[str, list[str]] = {"cloudformation": ["(the stack)"], "s3": ["(the code and layer artifacts)"]}
    for logical_id, resource in resources.items():
        kind = resource.get("Type", "")
        service = "apigatewayv2" if kind.startswith("AWS::ApiGatewayV2::") else SERVICE_OF_TYPE.get(kind)
        if service:
            needs.setdefault(service, []).append(logical_id)
        for event in ((resource.get("Properties") or {}).get("Events") or {}).values():
            if event.get("Type") == "Schedule":
                needs.setdefault("events", []).append(logical_id)
    return needs


@dataclass(frozen=True)
class Probe:
    service: str
    refused: str | None  # why, or None when the endpoint served it


def _zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


class Prober:
    """`clients(name)` returns a boto3 client for the endpoint; `runtime` is the functions' runtime."""

    def __init__(self, clients: Callable[[str], Any], runtime: str, bucket: str):
        self.client, self.runtime, self.bucket = clients, runtime, bucket
        self.tag = f"oe-preflight-{uuid.uuid4().hex[:8]}"

    def run(self, services: list[str]) -> list[Probe]:
        probes = []
        for service in services:
            try:
                getattr(self, "_" + service.replace("-", "_"))()
                probes.append(Probe(service, None))
            except (ClientError, BotoCoreError, RuntimeError) as exc:
                probes.append(Probe(service, str(exc)))
        return probes

    def _cloudformation(self) -> None:
        self.client("cloudformation").list_stacks()

    def _s3(self) -> None:  # the artifact bucket `sam deploy` uploads to; it stays
        s3 = self.client("s3")
        try:
            s3.head_bucket(Bucket=self.bucket)
        except ClientError:
            s3.create_bucket(Bucket=self.bucket)
        s3.put_object(Bucket=self.bucket, Key=f"{self.tag}.txt", Body=b"preflight")
        s3.delete_object(Bucket=self.bucket, Key=f"{self.tag}.txt")

    def _iam(self) -> None:
        iam = self.client("iam")
        document = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
        arn = iam.create_policy(PolicyName=self.tag, PolicyDocument=json.dumps(document))["Policy"]["Arn"]
        iam.delete_policy(PolicyArn=arn)

    def _events(self) -> None:
        events = self.client("events")
        events.put_rule(Name=self.tag, ScheduleExpression="rate(1 minute)", State="DISABLED")
        events.delete_rule(Name=self.tag)

    def _lambda(self) -> None:
        lam = self.client("lambda")
        layer = lam.publish_layer_version(LayerName=self.tag, Content={"ZipFile": _zip({"python/probe.py": ""})},
                                          CompatibleRuntimes=[self.runtime])
        lam.delete_layer_version(LayerName=self.tag, VersionNumber=layer["Version"])

    def _lambda_run(self) -> None:
        """A function that must run: created, waited for, invoked."""
        iam, lam = self.client("iam"), self.client("lambda")
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                         "Principal": {"Service": "lambda.amazonaws.com"}}]}
        role = iam.create_role(RoleName=self.tag, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        try:
            lam.create_function(FunctionName=self.tag, Runtime=self.runtime, Role=role, Handler="probe.handler",
                                Code={"ZipFile": _zip({"probe.py": "def handler(event, context):\n    return 'ok'\n"})})
            try:
                config = lam.get_function_configuration(FunctionName=self.tag)
                for _ in range(60):
                    if config["State"] != "Pending":
                        break
                    time.sleep(1)
                    config = lam.get_function_configuration(FunctionName=self.tag)
                if config["State"] != "Active":
                    raise RuntimeError(f"a {self.runtime} function ends in state {config['State']}: "
                                       f"{config.get('StateReason') or config.get('StateReasonCode')}")
                answer = lam.invoke(FunctionName=self.tag, Payload=b"{}")
                if answer.get("FunctionError") or answer["Payload"].read() != b'"ok"':
                    raise RuntimeError(f"a {self.runtime} function does not run: {answer.get('FunctionError')}")
            finally:
                try:
                    lam.delete_function(FunctionName=self.tag)
                except ClientError:
                    pass  # a function that failed to create may be gone already
        finally:
            iam.delete_role(RoleName=self.tag)

    def _apigatewayv2(self) -> None:
        api = self.client("apigatewayv2")
        created = api.create_api(Name=self.tag, ProtocolType="WEBSOCKET",
                                 RouteSelectionExpression="$request.body.action")
        api.delete_api(ApiId=created["ApiId"])
