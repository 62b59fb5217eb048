"""Adapters that speak SQL to PostgreSQL (pg8000)."""
