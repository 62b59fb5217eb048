"""The ids Lambda gives an invocation: its request id and its X-Ray trace header."""
from __future__ import annotations

import random
import time

_ids = random.Random()  # seeded from os.urandom: ids must be unique, not secret, and a syscall each costs more
_UUID4_CLEAR, _UUID4_SET = ~((0xF000 << 64) | (0xC000 << 48)), (0x4000 << 64) | (0x8000 << 48)


def new_request_id() -> str:
    """A random (version 4) UUID, as Lambda's request ids are."""
    h = f"{(_ids.getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def new_trace_id() -> str:
    """An X-Ray trace header's root, as Lambda hands one to each invocation."""
    return f"Root=1-{int(time.time()):08x}-{_ids.getrandbits(96):024x}"
