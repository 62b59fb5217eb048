"""The database URL, Redis URL and cursor secret come from Secrets Manager or SSM Parameter Store (Powertools
Parameters) when the settings name them, from the environment otherwise. moto stands in for both services."""
from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from order_engine.config import SecretsUnavailable, Settings, with_secrets

FROM_ENV = {"DATABASE_URL": "postgresql://env@db/orders", "REDIS_URL": "redis://env:6379/0", "CURSOR_SECRET": "env"}


@pytest.fixture
def aws(monkeypatch):
    for name, value in {"AWS_DEFAULT_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "test",
                        "AWS_SECRET_ACCESS_KEY": "test"}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL_SECRETS_MANAGER"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield


def test_without_a_secret_or_parameter_the_environment_is_used_and_aws_is_not_called():
    s = Settings.from_env(FROM_ENV)

    assert with_secrets(s) is s


def test_a_secrets_manager_secret_replaces_the_three_settings(aws):
    arn = boto3.client("secretsmanager").create_secret(Name="order-engine/prod", SecretString=json.dumps({
        "DATABASE_URL": "postgresql://secret@db/orders", "REDIS_URL": "rediss://secret:6379/0",
        "CURSOR_SECRET": "from-the-secret"}))["ARN"]

    s = with_secrets(Settings.from_env({**FROM_ENV, "SECRET_ARN": arn}))

    assert (s.database_url, s.redis_url, s.cursor_secret) == (
        "postgresql://secret@db/orders", "rediss://secret:6379/0", "from-the-secret")


def test_ssm_parameters_are_decrypted_and_win_over_the_secret(aws):
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/order-engine/database-url", Value="postgresql://ssm@db/orders", Type="SecureString")
    ssm.put_parameter(Name="/order-engine/cursor-secret", Value="from-ssm", Type="SecureString")
    arn = boto3.client("secretsmanager").create_secret(
        Name="partial", SecretString=json.dumps({"DATABASE_URL": "postgresql://secret@db/orders"}))["ARN"]

    s = with_secrets(Settings.from_env({**FROM_ENV, "SECRET_ARN": arn,
                                        "DATABASE_URL_PARAMETER": "/order-engine/database-url",
                                        "CURSOR_SECRET_PARAMETER": "/order-engine/cursor-secret"}))

    assert s.database_url == "postgresql://ssm@db/orders"
    assert s.cursor_secret == "from-ssm"
    assert s.redis_url == FROM_ENV["REDIS_URL"]  # named nowhere: the environment's


def test_a_missing_parameter_stops_start_up_naming_it(aws):
    with pytest.raises(SecretsUnavailable, match="/order-engine/missing"):
        with_secrets(Settings.from_env({**FROM_ENV, "REDIS_URL_PARAMETER": "/order-engine/missing"}))


def test_a_secret_that_is_not_json_stops_start_up_naming_it(aws):
    arn = boto3.client("secretsmanager").create_secret(Name="plain", SecretString="not json")["ARN"]

    with pytest.raises(SecretsUnavailable, match="plain"):
        with_secrets(Settings.from_env({**FROM_ENV, "SECRET_ARN": arn}))
