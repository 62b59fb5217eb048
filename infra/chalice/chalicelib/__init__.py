"""Event translation between chalice's event objects and the API Gateway payloads the engine's handlers take."""
