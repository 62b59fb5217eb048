-- The simulated market's listing events: a new token's pool(s) on Raydium and/or Meteora from a slot on. An
-- outside system's state like chain_transactions, written only by order_engine.dex.adapters.listing_store; one
-- listing per pair, never changed, so every process may cache what it read.
CREATE TABLE dex_listings (
    pair         text        PRIMARY KEY,  -- "<token>-<quote token>", e.g. NOVA-USDC
    token_mint   text        NOT NULL,
    quote_mint   text        NOT NULL,
    venues       text        NOT NULL CHECK (venues IN ('raydium', 'meteora', 'raydium,meteora')),
    price        text        NOT NULL,     -- whole quote tokens per whole token, a decimal string
    liquidity    bigint      NOT NULL CHECK (liquidity > 0),  -- whole quote tokens per pool
    slot         bigint      NOT NULL,     -- the first slot the pools exist in
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (token_mint, quote_mint)
);

CREATE INDEX dex_listings_slot ON dex_listings (slot);
