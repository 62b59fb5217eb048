"""The api_keys table: keys by their hash (the authorizer's lookup), and the admin command's create, list and
revoke. The key itself is never stored; `create` returns it once."""
from __future__ import annotations

import uuid

from order_engine.domain.api_keys import KeyRecord, key_hash, new_key
from order_engine.adapters.postgres.database import Database

_COLUMNS = "key_id, client_id, key_prefix, label, operator, rate_per_s, burst, created_at, revoked_at"


def _record(row: list) -> KeyRecord:
    key_id, client_id, prefix, label, operator, rate, burst, created_at, revoked_at = row
    return KeyRecord(str(key_id), client_id, prefix, label, operator, rate, burst, created_at, revoked_at)


class PgApiKeyStore:
    def __init__(self, db: Database):
        self.db = db

    def find(self, hashed: str) -> KeyRecord | None:
        """The unrevoked key with this hash. Raises DependencyUnavailable('postgresql')."""
        rows = self.db.run(f"SELECT {_COLUMNS} FROM api_keys WHERE key_hash = :h AND revoked_at IS NULL", h=hashed)
        return _record(rows[0]) if rows else None

    def create(self, client_id: str, *, label: str = "", operator: bool = False, rate_per_s: float | None = None,
               burst: int | None = None) -> tuple[str, KeyRecord]:
        key = new_key()
        rows = self.db.run(
            f"INSERT INTO api_keys (key_id, client_id, key_hash, key_prefix, label, operator, rate_per_s, burst)"
            f" VALUES (CAST(:id AS uuid), :client, :hash, :prefix, :label, :operator, :rate, :burst) RETURNING {_COLUMNS}",
            id=str(uuid.uuid4()), client=client_id, hash=key_hash(key), prefix=key[:10], label=label,
            operator=operator, rate=rate_per_s, burst=burst)
        return key, _record(rows[0])

    def list(self, include_revoked: bool = False) -> list[KeyRecord]:
        where = "" if include_revoked else "WHERE revoked_at IS NULL"
        return [_record(r) for r in self.db.run(f"SELECT {_COLUMNS} FROM api_keys {where} ORDER BY created_at, key_id")]

    def revoke(self, key_id_or_prefix: str) -> list[KeyRecord]:
        """Revoke by key id, or by the listed prefix when it names exactly one key; returns what was revoked."""
        rows = self.db.run(
            f"UPDATE api_keys SET revoked_at = now() WHERE revoked_at IS NULL AND key_id::text = :k"
            f" OR (revoked_at IS NULL AND key_prefix = :k"
            f"     AND (SELECT count(*) FROM api_keys WHERE key_prefix = :k AND revoked_at IS NULL) = 1)"
            f" RETURNING {_COLUMNS}", k=key_id_or_prefix)
        return [_record(r) for r in rows]
