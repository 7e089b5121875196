"""Bounded reads from a child process's pipe."""

from __future__ import annotations

import os
import selectors
import time
from typing import IO


def read_line(stream: IO[bytes], timeout: float) -> str:
    """Read one line from a pipe; fail the test after ``timeout`` seconds (at EOF: what came)."""
    deadline = time.monotonic() + timeout
    data = b""
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        while not data.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no complete line within {timeout}s (got {data!r})"
            if selector.select(remaining):
                chunk = os.read(stream.fileno(), 1)
                if not chunk:
                    break
                data += chunk
    return data.decode()
