"""Starts the sidecar for a benchmark in its own process and reads process memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

_SIDECAR_SCRIPT = """
import json, sys
from durabletask.sidecar.runner import EmbeddedSidecar
from durabletask.sidecar.store import SqliteStore
db = sys.argv[1] if len(sys.argv) > 1 else None
store = SqliteStore(db) if db else None
sidecar = EmbeddedSidecar(port=0, store=store, max_history_size=1_000_000)
address = sidecar.start()
print(json.dumps({"address": address}), flush=True)
sys.stdin.read()
sidecar.stop()
"""


def peak_rss_mb(pid: int | None = None) -> float:
    """Peak resident memory (VmHWM) of a process, in MiB."""
    path = f"/proc/{pid or os.getpid()}/status"
    with open(path) as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


STORES = ("memory", "sqlite")
"""Stores a benchmark sidecar can use."""


@contextmanager
def sidecar_process(store: str = "memory") -> Iterator[tuple[str, int]]:
    """Run the embedded sidecar in a child process; yields (address, pid).

    Args:
        store: ``memory``, or ``sqlite`` for a ``SqliteStore`` in a fresh temporary file.
    """
    if store not in STORES:
        raise ValueError(f"unknown store {store!r}; use one of {STORES}")
    with tempfile.TemporaryDirectory(prefix="dt-bench-") as tmp:
        args = [os.path.join(tmp, "bench.db")] if store == "sqlite" else []
        child = subprocess.Popen(
            [sys.executable, "-c", _SIDECAR_SCRIPT, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None
            address = json.loads(child.stdout.readline())["address"]
            yield address, child.pid
        finally:
            assert child.stdin is not None
            child.stdin.close()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
