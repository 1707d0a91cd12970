"""A localhost TCP/UDP port for a server that a test starts later (after telling a client where to connect)."""

from __future__ import annotations

import random
import socket
from pathlib import Path

EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _ephemeral_low() -> int:
    """The lowest port the kernel hands out to outgoing connections (32768 where /proc does not say)."""
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A port that is free now on 127.0.0.1 (TCP and UDP) and below the kernel's ephemeral range.

    Below that range, so that no outgoing connection can take it before the test's server binds it: a port from
    ``bind(0)`` is an ephemeral one, and a client that keeps retrying ``ws://127.0.0.1:PORT`` (the web page in
    tests/test_web_example.py) can be given that very port as its own source port and hold it.
    """
    high = _ephemeral_low()
    candidates = random.Random().sample(range(max(1024, high - 12000), high), 200)
    for port in candidates:
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp, \
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                tcp.bind(("127.0.0.1", port))
                udp.bind(("127.0.0.1", port))
        except OSError:
            continue
        return port
    raise RuntimeError(f"no free port on 127.0.0.1 between {max(1024, high - 12000)} and {high}")
