"""The test suite: a package, so that its support code is imported by name (`from tests.support.stack_process import ...`)."""
