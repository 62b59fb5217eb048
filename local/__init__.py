"""The Docker-free local emulation of the deployed stack: the Lambda runtime (worker processes per function),
the API Gateway HTTP and WebSocket APIs, the Lambda Invoke API, EventBridge schedules and embedded
PostgreSQL/Redis. `python -m local` starts it all; see local/stack.py. The load tools that drive it are the
package local/bench, which the emulator does not import."""
