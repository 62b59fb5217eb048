"""`order-engine`: a command-line client of the order engine's public API (HTTP + WebSocket only), so it works
against the local stack and a deployed one alike."""
