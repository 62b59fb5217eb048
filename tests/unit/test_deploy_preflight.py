"""Which services template.yaml's resources need, as the deploy script's preflight asks an endpoint for them."""
from pathlib import Path

from infra.deploy.preflight import needed_services
from local.cloudformation import load_yaml

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = load_yaml((ROOT / "template.yaml").read_text())["Resources"]


def test_every_function_needs_lambda_that_runs_code_and_every_api_needs_api_gateway_v2():
    needs = needed_services(RESOURCES)
    functions = {k for k, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}
    apis = {k for k, r in RESOURCES.items() if r["Type"].startswith("AWS::ApiGatewayV2::")} | {"HttpApi"}
    assert set(needs["lambda-run"]) == functions
    assert set(needs["apigatewayv2"]) == apis
    assert needs["events"] == ["ExecutorFunction"]
    assert "CoreLayer" in needs["lambda"] and "WsManageConnectionsPolicy" in needs["iam"]


def test_every_resource_of_the_template_is_accounted_for():
    needs = needed_services(RESOURCES)
    placed = {logical_id for ids in needs.values() for logical_id in ids}
    assert set(RESOURCES) <= placed
