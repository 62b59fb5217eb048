-- API keys: stored as the SHA-256 of the key (a key is 32 random bytes, so a fast hash is enough: there is no
-- dictionary to try, and a slow password hash would cost every uncached authorization its CPU), with the limits
-- of the client it belongs to (NULL: the setting's default). Orders carry the client that submitted them
-- ('' when access control is off), and an Idempotency-Key is unique per client, not across clients.
CREATE TABLE api_keys (
    key_id        uuid        PRIMARY KEY,
    client_id     text        NOT NULL CHECK (length(client_id) BETWEEN 1 AND 64),
    key_hash      text        NOT NULL UNIQUE,
    key_prefix    text        NOT NULL,  -- the first characters of the key, to tell keys apart in a listing
    label         text        NOT NULL DEFAULT '',
    operator      boolean     NOT NULL DEFAULT false,  -- may use /api/operator/* routes
    rate_per_s    double precision CHECK (rate_per_s > 0),
    burst         integer     CHECK (burst > 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);
CREATE INDEX api_keys_client ON api_keys (client_id);

ALTER TABLE orders ADD COLUMN client_id text NOT NULL DEFAULT '';
ALTER TABLE orders DROP CONSTRAINT orders_idempotency_key_key;
CREATE UNIQUE INDEX orders_client_idempotency_key ON orders (client_id, idempotency_key);
CREATE INDEX orders_client_newest ON orders (client_id, created_at DESC, id DESC);
