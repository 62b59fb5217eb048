from datetime import datetime, timezone

import pytest

from order_engine.errors import EngineError
from order_engine.services import cursor
from order_engine.domain.order import HistoryPosition

POS = HistoryPosition(datetime(2026, 11, 22, 1, 2, 3, 456789, tzinfo=timezone.utc), "3f0c7d9e-0a8b-4c1d-9e2f-5a6b7c8d9e0f")


def test_cursor_round_trips_to_the_microsecond():
    assert cursor.decode(cursor.encode(POS, "s"), "s") == POS


@pytest.mark.parametrize("mutate", [lambda c: c[:-2] + ("AA" if c[-2:] != "AA" else "BB"), lambda c: "x" + c,
                                    lambda c: c[5:], lambda c: "not-a-cursor"])
def test_altered_cursor_is_refused(mutate):
    with pytest.raises(EngineError) as err:
        cursor.decode(mutate(cursor.encode(POS, "s")), "s")
    assert err.value.code == "invalid_cursor"


def test_cursor_from_another_secret_is_refused():
    with pytest.raises(EngineError):
        cursor.decode(cursor.encode(POS, "a"), "b")
