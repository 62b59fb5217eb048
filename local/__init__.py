"""The Docker-free local emulation of the deployed stack: the Lambda runtime (worker processes per function),
the API Gateway HTTP API, the Lambda Invoke API, EventBridge schedules, embedded PostgreSQL/Redis, and the load
generator. `python -m local` starts it all; see local/stack.py."""
