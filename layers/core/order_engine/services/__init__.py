"""Use cases the handlers call: submit, quote, read, execute, subscribe, reconcile."""
