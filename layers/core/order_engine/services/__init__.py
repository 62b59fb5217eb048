"""Use cases the handlers call: submit, read, execute, subscribe, reconcile."""
