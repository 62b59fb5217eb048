"""The load generator and benchmarks, apart from the emulator they drive: `python -m local.bench submit|e2e|ipc|
post-cost|fanout` against a running stack (local/bench/__main__.py), and `python -m local.bench.executor` for the
executor alone, in-process."""
