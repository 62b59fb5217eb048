"""What the tests share besides fixtures, each module named for what it gives:

- lambdas: a Lambda context and API Gateway events, for invoking handlers in-process; a function's app.py imported
- chalice_app: the chalice app (infra/chalice/app.py), imported once per process
- source_files: parsing the project's own Python sources (the layout and packaging tests)
- processes: whether a process is alive, a free TCP port
- database: the test PostgreSQL and Redis, a database or key prefix of one's own, a one-off query by URL
- factories: orders (and the states tests start from) written through the real adapters
- reads: orders read back through the adapter's own reads (status, timeline, counts)
- sql: the SQL tests run themselves, each statement a named function: rows no adapter writes, reads none offers
- clients: HTTP and WebSocket clients that carry a stack's API key explicitly
- stack: the local stack (`python -m local`) as a subprocess; stack_fixtures: its fixtures, a pytest plugin
  registered once by tests/conftest.py for e2e/, faults/ and browser/
- ws_stack: the WebSocket gateway, management API and Lambda Invoke API served in the test process
- subscriptions: a live WebSocket subscription on any registry, fake or real
- executor_fakes, ws_fakes: in-memory fakes of the ports (tests/integration/test_port_contracts.py holds each to
  its real adapter's behaviour)
- executor_support: executors run in-process, and what they did
- simulated_dex: the simulated venues on a clock the test holds
- fault_harness: the fault suite's client, audit and own servers
- browser: Chromium, the page, viewports and the stack-side actions of the browser tests
- contract_hooks: schemathesis hooks of the contract fuzzing
"""
