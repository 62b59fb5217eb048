"""The API-key admin command: create, list and revoke keys in the database DATABASE_URL names.

    python -m local.key_admin create --client acme [--operator] [--rate 10 --burst 20] [--label "acme's bot"]
    python -m local.key_admin list [--all]
    python -m local.key_admin revoke <key id or listed prefix>

`create` prints the key once (only its SHA-256 is stored). A revoked key stops working within AUTH_CACHE_TTL_S.
"""
from __future__ import annotations

import argparse
import json
import sys

from order_engine.bootstrap import key_store
from order_engine.config import Settings
from order_engine.domain.api_keys import CLIENT_ID_PATTERN, KeyRecord


def _row(record: KeyRecord) -> dict:
    return {"keyId": record.key_id, "clientId": record.client_id, "prefix": record.key_prefix, "label": record.label,
            "operator": record.operator, "ratePerSecond": record.rate_per_s, "burst": record.burst,
            "createdAt": record.created_at.isoformat() if record.created_at else None,
            "revokedAt": record.revoked_at.isoformat() if record.revoked_at else None}


def _client_id(value: str) -> str:
    if not CLIENT_ID_PATTERN.fullmatch(value):
        raise argparse.ArgumentTypeError("1 to 64 of A-Z a-z 0-9 . _ : @ -")
    return value


def _positive(kind):
    def parse(value: str):
        number = kind(value)
        if number <= 0:
            raise argparse.ArgumentTypeError("must be greater than zero")
        return number
    return parse


def main(argv: list[str] | None = None, settings: Settings | None = None, out=sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.key_admin", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="make a key and print it (once)")
    create.add_argument("--client", type=_client_id, required=True, help="the client the key belongs to")
    create.add_argument("--label", default="")
    create.add_argument("--operator", action="store_true", help="may use /api/operator/* routes")
    create.add_argument("--rate", type=_positive(float), help="submits per second (default RATE_LIMIT_PER_S)")
    create.add_argument("--burst", type=_positive(int), help="token bucket size (default RATE_LIMIT_BURST)")
    listing = commands.add_parser("list", help="the keys (never the keys themselves), as JSON lines")
    listing.add_argument("--all", action="store_true", help="revoked ones too")
    revoke = commands.add_parser("revoke", help="revoke a key by id or listed prefix")
    revoke.add_argument("key")
    args = parser.parse_args(argv)

    keys = key_store(settings or Settings.from_env())
    try:
        if args.command == "create":
            key, record = keys.create(args.client, label=args.label, operator=args.operator,
                                      rate_per_s=args.rate, burst=args.burst)
            print(json.dumps({"apiKey": key, **_row(record)}), file=out)
        elif args.command == "list":
            for record in keys.list(include_revoked=args.all):
                print(json.dumps(_row(record)), file=out)
        else:
            revoked = keys.revoke(args.key)
            if not revoked:
                print(f"no unrevoked key has id or unique prefix {args.key!r}", file=sys.stderr)
                return 1
            for record in revoked:
                print(json.dumps(_row(record)), file=out)
    finally:
        keys.db.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
