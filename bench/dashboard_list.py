"""Latency of the dashboard's list API over many instances, per store.

Fills a store with N instances (directly, no gRPC), serves it with the dashboard, and
times over HTTP: the first page, a page deep in the list (by cursor), a status filter, a
search and the counts. Prints one JSON line per store (median milliseconds of 5 calls).
``python -m bench.dashboard_list [N]`` (default 50,000).
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.sidecar import EmbeddedSidecar
from durabletask.sidecar.store import EpisodeCommit, InstanceRecord, MemoryStore, SqliteStore
from durabletask.sidecar.store.base import Store

_T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
_STATUSES = (pb.ORCHESTRATION_STATUS_COMPLETED,) * 8 + (
    pb.ORCHESTRATION_STATUS_RUNNING, pb.ORCHESTRATION_STATUS_FAILED,
)


def _fill(store: Store, count: int) -> None:
    start = pb.HistoryEvent(eventId=-1)
    start.executionStarted.name = "orch"
    with store.group():  # one transaction: filling is not what is measured
        for i in range(count):
            _add(store, start, i)


def _add(store: Store, start: pb.HistoryEvent, i: int) -> None:
    at = _T0 + timedelta(milliseconds=i)
    record = InstanceRecord(
        instance_id=f"order-{i:06d}", execution_id="e", name=f"orch{i % 7}",
        created_at=at, last_updated_at=at, input='{"n": %d}' % i,
    )
    store.create_instance(record, start)
    done = dataclasses.replace(record, status=_STATUSES[i % len(_STATUSES)])
    store.commit_episode(EpisodeCommit(
        instance_id=record.instance_id, expected_execution_id="e", record=done, consumed=(),
    ))


def _median_ms(call: Callable[[], Any]) -> float:
    samples = []
    for _ in range(5):
        began = time.perf_counter()
        call()
        samples.append((time.perf_counter() - began) * 1000)
    return round(statistics.median(samples), 1)


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - loopback
        return json.load(response)


def measure(name: str, store: Store, count: int) -> dict[str, Any]:
    """Fill ``store`` and time the list API over it."""
    began = time.perf_counter()
    _fill(store, count)
    filled = time.perf_counter() - began
    with EmbeddedSidecar(port=0, store=store, dashboard_port=0) as sidecar:
        api = f"{sidecar.dashboard_url}api/"
        cursor = _get(f"{api}instances?limit=50")["nextCursor"]
        for _ in range(count // 100):  # half way down the list
            cursor = _get(f"{api}instances?limit=50&cursor={cursor}")["nextCursor"]
        return {
            "store": name,
            "instances": count,
            "fill_s": round(filled, 1),
            "first_page_ms": _median_ms(lambda: _get(f"{api}instances?limit=50")),
            "middle_page_ms": _median_ms(
                lambda: _get(f"{api}instances?limit=50&cursor={cursor}")),
            "failed_filter_ms": _median_ms(lambda: _get(f"{api}instances?status=FAILED")),
            "search_ms": _median_ms(lambda: _get(f"{api}instances?q=order-0123")),
            "counts_ms": _median_ms(lambda: _get(f"{api}counts")),
        }


def main() -> None:
    """Print one JSON line per store."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    print(json.dumps(measure("memory", MemoryStore(), count)))
    with tempfile.TemporaryDirectory() as folder:
        sqlite = SqliteStore(Path(folder) / "bench.db", synchronous="NORMAL")
        print(json.dumps(measure("sqlite", sqlite, count)))


if __name__ == "__main__":
    main()
