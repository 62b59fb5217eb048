"""The local Lambda Invoke API answers boto3's `lambda.invoke` unchanged, with AWS_ENDPOINT_URL_LAMBDA pointing at
it: synchronous and Event invocations, Lambda's error shapes, and reserved concurrency."""
from __future__ import annotations

import json
import threading

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError


@pytest.fixture
def lambda_client(gateway_stack, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", gateway_stack.lambda_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return boto3.client("lambda", config=Config(retries={"total_max_attempts": 1}))  # see every 429 as it comes


def pool(gateway_stack, function_name: str) -> dict:
    return requests.get(f"{gateway_stack.lambda_url}/local/functions").json()[function_name]


@pytest.mark.parametrize("name", [
    "order-engine-echo",  # FunctionName, with ${AWS::StackName} resolved
    "EchoFunction",  # the logical id
    "arn:aws:lambda:us-east-1:000000000000:function:order-engine-echo",
])
def test_a_synchronous_invoke_returns_the_functions_result(lambda_client, name):
    response = lambda_client.invoke(FunctionName=name, Payload=json.dumps({"hello": "world"}).encode())

    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    result = json.loads(response["Payload"].read())
    assert json.loads(result["body"])["event"] == {"hello": "world"}


def test_an_unhandled_exception_comes_back_in_lambdas_error_shape(lambda_client):
    response = lambda_client.invoke(FunctionName="order-engine-echo", Payload=b'{"raise": "boom"}')

    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorMessage"] == "boom"
    assert error["errorType"] == "ValueError"
    assert isinstance(error["stackTrace"], list) and error["stackTrace"]


def test_a_timeout_comes_back_as_a_function_error(lambda_client):
    response = lambda_client.invoke(FunctionName="order-engine-slow", Payload=b'{"sleep": 30}')

    assert response["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in json.loads(response["Payload"].read())["errorMessage"]


def test_an_unknown_function_is_resource_not_found(lambda_client):
    with pytest.raises(ClientError) as caught:
        lambda_client.invoke(FunctionName="no-such-function", Payload=b"{}")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_a_synchronous_invoke_beyond_reserved_concurrency_is_throttled(lambda_client, gateway_stack, wait_for):
    """SlowFunction has ReservedConcurrentExecutions: 1."""
    first = threading.Thread(target=lambda_client.invoke,
                             kwargs={"FunctionName": "order-engine-slow", "Payload": b'{"sleep": 0.9}'})
    first.start()
    try:
        wait_for(lambda: pool(gateway_stack, "order-engine-slow")["inFlight"] == 1)
        with pytest.raises(ClientError) as caught:
            lambda_client.invoke(FunctionName="order-engine-slow", Payload=b"{}")
    finally:
        first.join()
    assert caught.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429


def test_event_invokes_beyond_reserved_concurrency_wait_their_turn_and_all_run(
        lambda_client, gateway_stack, marker_dir, wait_for):
    names = [f"event-{i}" for i in range(4)]
    for name in names:
        response = lambda_client.invoke(FunctionName="order-engine-slow", InvocationType="Event",
                                        Payload=json.dumps({"sleep": 0.2, "touch": name}).encode())
        assert response["StatusCode"] == 202

    wait_for(lambda: all((marker_dir / name).exists() for name in names))
    request_ids = {(marker_dir / name).read_text() for name in names}
    assert len(request_ids) == 4  # four separate invocations, none dropped or merged


def test_a_dry_run_checks_the_function_without_running_it(lambda_client):
    response = lambda_client.invoke(FunctionName="order-engine-echo", InvocationType="DryRun")
    assert response["StatusCode"] == 204
