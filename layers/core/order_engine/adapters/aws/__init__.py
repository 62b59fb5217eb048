"""Adapters that speak AWS APIs: the WebSocket management API, Lambda invoke, CloudWatch EMF."""
