"""Completions per second of each store, driven directly (no gRPC, no worker).

Each orchestration is the store side of ``hello``: create, first episode commit
(schedules one activity), activity result commit, final episode commit. A
"completion" is one of the three commits a worker's answer causes.
Prints one JSON line per store. ``python -m bench.store_completions [N]``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.sidecar.store import (
    EpisodeCommit,
    InstanceRecord,
    MemoryStore,
    SqliteStore,
    Store,
)

RUNNING = pb.ORCHESTRATION_STATUS_RUNNING
COMPLETED = pb.ORCHESTRATION_STATUS_COMPLETED


def _event(kind: str) -> pb.HistoryEvent:
    event = pb.HistoryEvent(eventId=-1)
    getattr(event, kind).SetInParent()
    event.timestamp.GetCurrentTime()
    return event


def _episode(store: Store, rec: InstanceRecord, now: datetime, **fields: Any) -> None:
    episode = store.load_episode(rec.instance_id, now)
    assert episode is not None
    history = [_event("orchestratorStarted"), *(r.event for r in episode.inbox),
               _event("orchestratorCompleted")]
    result = store.commit_episode(EpisodeCommit(
        instance_id=rec.instance_id, expected_execution_id=rec.execution_id,
        consumed=tuple(r.seq for r in episode.inbox), history_append=history, **fields,
    ))
    assert result is not None
    for task in result.activity_tasks:
        done = _event("taskCompleted")
        done.taskCompleted.taskScheduledId = task.request.taskId
        done.taskCompleted.result.value = task.request.input.value
        store.commit_activity_result(task.seq, done)


def run_one(store: Store, n: int) -> dict[str, Any]:
    """Run ``n`` hello-shaped orchestrations through ``store``; return rates."""
    started = time.perf_counter()
    for i in range(n):
        now = datetime.now(timezone.utc)
        rec = InstanceRecord(instance_id=f"i{i}", execution_id="e", name="hello",
                             created_at=now, last_updated_at=now, input=f'"{i}"')
        store.create_instance(rec, _event("executionStarted"))
        request = pb.ActivityRequest(name="echo", taskId=0)
        request.input.value = f'"Hello, {i}!"'
        running = dataclasses.replace(rec, status=RUNNING)
        _episode(store, rec, now, record=running, activities=[request])
        done = dataclasses.replace(running, status=COMPLETED, output=request.input.value,
                                   completed_at=now)
        _episode(store, running, now, record=done)
    seconds = time.perf_counter() - started
    return {"n": n, "seconds": seconds, "orchestrations_per_s": n / seconds,
            "completions_per_s": 3 * n / seconds}


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with tempfile.TemporaryDirectory() as tmp:
        factories: dict[str, Callable[[], Store]] = {
            "memory": MemoryStore,
            "sqlite": lambda: SqliteStore(Path(tmp) / "full.db"),
            "sqlite-normal": lambda: SqliteStore(Path(tmp) / "normal.db", synchronous="NORMAL"),
        }
        for name, factory in factories.items():
            store = factory()
            try:
                result = run_one(store, n)
            finally:
                store.close()
            result["store"] = name
            print(json.dumps({k: round(v, 3) if isinstance(v, float) else v
                              for k, v in result.items()}), flush=True)


if __name__ == "__main__":
    main()
