"""The simulated market's state: pools in Redis, the chain's ledger of landed transactions in PostgreSQL."""
