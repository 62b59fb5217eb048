"""Processes and ports: whether a process is alive, and a TCP port nothing listens on."""
from __future__ import annotations

import os
import random
import socket

# Below Linux's ephemeral range (32768-60999): a port the kernel hands out for port 0 can be taken by any outgoing
# connection before the stack binds it (a stack failed to start that way, "address already in use").
_PORTS = range(20000, 32768)


def alive(pid: int) -> bool:
    """Whether a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def free_port() -> int:
    """A port nothing listens on now, from outside the range the kernel picks outgoing connections' ports from."""
    while True:
        port = random.choice(_PORTS)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
