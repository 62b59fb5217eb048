"""Adapters: the only code that speaks SQL or Redis."""
