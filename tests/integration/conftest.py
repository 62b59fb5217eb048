import pytest

from tests.support.lambdas import load_function
from order_engine import bootstrap, config


@pytest.fixture
def configured(settings, monkeypatch):
    """Point the process-wide settings (what a Lambda reads from its environment) at this test's schema/prefix."""
    for field in ("database_url", "database_schema", "redis_url", "key_prefix"):
        monkeypatch.setenv(field.upper(), getattr(settings, field))
    monkeypatch.setenv("EXECUTOR_FUNCTION_NAME", "order-engine-executor")
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:9")  # nothing listens: waking fails softly
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    config.settings.cache_clear()
    bootstrap.services.cache_clear()
    yield config.settings()
    config.settings.cache_clear()
    bootstrap.services.cache_clear()


@pytest.fixture
def ws_stack(configured, monkeypatch):
    """The WebSocket gateway, management API and Lambda Invoke API in this process, wired into the settings."""
    from tests.support.ws_stack import WsStack, wired

    yield from wired(WsStack().start(), monkeypatch)


@pytest.fixture(scope="session")
def submit_fn():
    return load_function("submit")


@pytest.fixture(scope="session")
def orders_fn():
    return load_function("orders")
