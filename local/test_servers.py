"""Makes sure the test suite has PostgreSQL and Redis: the ones at TEST_DATABASE_URL / TEST_REDIS_URL, or embedded
ones (from pip packages, data under .local-data/test) started on those addresses when nothing answers there.
Run by ./local/test before pytest; embedded servers are left running for the next run."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from local.embedded import ensure_servers

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/order_engine_test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    root = Path(__file__).resolve().parents[1]
    started = ensure_servers(
        os.environ.get("TEST_DATABASE_URL", DEFAULT_DATABASE_URL),
        os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS_URL),
        Path(os.environ.get("TEST_DATA_DIR", root / ".local-data" / "test")),
    )
    for server in started:
        logging.info("started embedded %s for the tests (left running)", type(server).__name__)


if __name__ == "__main__":
    main()
