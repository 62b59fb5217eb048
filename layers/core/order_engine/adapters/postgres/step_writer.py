"""A step taken outside the executor (a client's cancel), stored with the same conditional statement as the
executor's (transition_writes.py); adapters/step_publisher.py then publishes it."""
from __future__ import annotations

from order_engine.domain.transition import Transition
from order_engine.adapters.postgres.database import Database
from order_engine.adapters.postgres.transition_writes import write_transitions


class PgStepWriter:
    """`StepWriter`: one transition, conditional on the status and seq it was read with."""

    def __init__(self, db: Database):
        self.db = db

    def write(self, transition: Transition) -> bool:
        return write_transitions(self.db, [transition])[0]
