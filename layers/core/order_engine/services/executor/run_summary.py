"""What one executor run did, returned by `Executor.run` and logged by the executor function."""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class RunSummary:
    """What one executor run did; `peak_*` are the concurrency it measured itself."""

    owner: str
    stopped_because: str = ""
    claimed: int = 0
    outcomes: Counter = field(default_factory=Counter)  # confirmed, failed, retry, wait, lost, done, held, released
    duplicates_dropped: int = 0
    dead_lettered: int = 0
    reconciled: int = 0
    launched: int = 0  # executors this one started because the queue needed more than were live
    waiting_fired: int = 0  # waiting orders whose trigger fired (moved to pending and queued) by this executor
    waiting_expired: int = 0
    waiting_restored: int = 0  # waiting orders put back in the Redis books from PostgreSQL
    stalled_requeued: int = 0
    stalled_dead: int = 0
    peak_local_in_flight: int = 0
    peak_global_in_flight: int = 0
    steps_written: int = 0
    write_batches: int = 0
    elapsed_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["outcomes"] = dict(self.outcomes)
        return data
