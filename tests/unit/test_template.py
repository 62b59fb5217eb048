"""Reading a SAM template: CloudFormation tags, Globals, functions, routes, schedules and the WebSocket API."""
from __future__ import annotations

from pathlib import Path

import pytest

from local.cloudformation import load_yaml
from local.template import load_template, resolve_environment

TEMPLATE = """
Parameters:
  DatabaseUrl: {Type: String}
  StageName: {Type: String, Default: prod}
  Reserved: {Type: Number, Default: 3}
Globals:
  Function:
    Runtime: python3.11
    MemorySize: 512
    Timeout: 10
    Environment:
      Variables:
        DATABASE_URL: !Ref DatabaseUrl
        EXECUTOR_FUNCTION_NAME: !Sub "${AWS::StackName}-executor"
        SERVICE: order-engine
Resources:
  HttpApi:
    Type: AWS::Serverless::HttpApi
  SubmitFunction:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "${AWS::StackName}-submit"
      CodeUri: functions/submit/
      Handler: app.handler
      Environment:
        Variables:
          SERVICE: submit
      Events:
        Execute:
          Type: HttpApi
          Properties: {ApiId: !Ref HttpApi, Path: /api/orders/execute, Method: post}
  ExecutorFunction:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "${AWS::StackName}-executor"
      CodeUri: functions/executor/
      Handler: app.handler
      Timeout: 60
      MemorySize: 1024
      ReservedConcurrentExecutions: !Ref Reserved
      Events:
        Tick:
          Type: Schedule
          Properties: {Schedule: rate(1 minute)}
        Nightly:
          Type: Schedule
          Properties: {Schedule: "cron(0 3 * * ? *)", Enabled: false}
  WsFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/ws/
      Handler: app.connect
  WsDefaultFunction:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: ws-default
      CodeUri: functions/ws/
      Handler: app.default
  WebSocketApi:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: !Sub "${AWS::StackName}-ws"
      ProtocolType: WEBSOCKET
      RouteSelectionExpression: "$request.body.action"
  ConnectIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref WebSocketApi
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${WsFunction.Arn}/invocations"
  DefaultIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref WebSocketApi
      IntegrationType: AWS_PROXY
      IntegrationUri: !Join ["", ["arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/", !GetAtt WsDefaultFunction.Arn, "/invocations"]]
  ConnectRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref WebSocketApi
      RouteKey: $connect
      Target: !Sub "integrations/${ConnectIntegration}"
  DefaultRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref WebSocketApi
      RouteKey: $default
      Target: !Join ["/", ["integrations", !Ref DefaultIntegration]]
"""


@pytest.fixture
def template(tmp_path: Path):
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    return load_template(path, stack_name="order-engine")


def test_cloudformation_short_tags_load_as_their_long_forms():
    doc = load_yaml("a: !Ref X\nb: !Sub '${X}-y'\nc: !GetAtt Fn.Arn\nd: !Join [',', [a, b]]\ne: !If [C, 1, 2]")
    assert doc == {"a": {"Ref": "X"}, "b": {"Fn::Sub": "${X}-y"}, "c": {"Fn::GetAtt": ["Fn", "Arn"]},
                   "d": {"Fn::Join": [",", ["a", "b"]]}, "e": {"Fn::If": ["C", 1, 2]}}


def test_globals_apply_unless_the_function_overrides_them(template):
    submit, executor = template.functions["SubmitFunction"], template.functions["ExecutorFunction"]
    assert (submit.timeout, submit.memory_size) == (10, 512)
    assert (executor.timeout, executor.memory_size) == (60, 1024)
    assert submit.environment_names == ["DATABASE_URL", "EXECUTOR_FUNCTION_NAME", "SERVICE"]
    assert submit.environment["SERVICE"] == "submit"  # the function's own variable wins over Globals


def test_function_names_code_and_concurrency_are_resolved(template, tmp_path):
    submit, executor = template.functions["SubmitFunction"], template.functions["ExecutorFunction"]
    assert submit.function_name == "order-engine-submit"
    assert submit.code_uri == (tmp_path / "functions" / "submit").resolve()
    assert submit.handler == "app.handler"
    assert submit.reserved_concurrency is None
    assert executor.reserved_concurrency == 3  # !Ref to a parameter's default
    assert template.functions["WsFunction"].function_name == "WsFunction"  # no FunctionName: the logical id


def test_functions_are_found_by_name_logical_id_or_arn(template):
    assert template.function("order-engine-executor").logical_id == "ExecutorFunction"
    assert template.function("ExecutorFunction").logical_id == "ExecutorFunction"
    arn = "arn:aws:lambda:us-east-1:000000000000:function:order-engine-executor"
    assert template.function(arn).logical_id == "ExecutorFunction"
    assert template.function(f"{arn}:$LATEST").logical_id == "ExecutorFunction"
    assert template.function("nope") is None


def test_http_api_events_become_route_keys(template):
    assert [(r.route_key, r.function) for r in template.http_routes] == [
        ("POST /api/orders/execute", "SubmitFunction")]


def test_schedules_keep_their_expression_and_state(template):
    assert [(s.function, s.name, s.expression, s.enabled) for s in template.schedules] == [
        ("ExecutorFunction", "Tick", "rate(1 minute)", True),
        ("ExecutorFunction", "Nightly", "cron(0 3 * * ? *)", False),
    ]


def test_websocket_routes_lead_through_integrations_to_functions(template):
    api = template.websocket_api
    assert api.name == "order-engine-ws"
    assert api.route_selection_expression == "$request.body.action"
    assert api.route("$connect").function == "WsFunction"  # !Sub with ${Fn.Arn}
    assert api.route("$default").function == "WsDefaultFunction"  # !Join with !GetAtt
    assert api.route("subscribe") is None


def test_a_template_without_a_websocket_api_has_none(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("Resources: {}\n")
    assert load_template(path).websocket_api is None


def test_environment_values_come_from_the_stack_then_the_template(template):
    env = resolve_environment(template, template.functions["SubmitFunction"],
                              {"DATABASE_URL": "postgresql://local/db", "UNRELATED": "x"})
    assert env == {"DATABASE_URL": "postgresql://local/db", "EXECUTOR_FUNCTION_NAME": "order-engine-executor",
                   "SERVICE": "submit"}


def test_a_parameter_without_a_value_leaves_its_variable_unset(template):
    env = resolve_environment(template, template.functions["SubmitFunction"], {})
    assert "DATABASE_URL" not in env
