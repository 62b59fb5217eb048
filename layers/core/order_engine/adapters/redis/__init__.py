"""Adapters that speak to Redis (redis-py): the queue, live state, books, registry."""
