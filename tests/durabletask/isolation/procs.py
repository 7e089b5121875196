"""Helpers of the isolation tests: processes observed from outside, workers with one activity."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from durabletask import client, worker
from tests.durabletask.isolation import acts


def gone(pid: int) -> bool:
    """True when no process (not even a zombie) has ``pid``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def pids_in(folder: Path) -> list[int]:
    """The pids the activities wrote into ``folder`` (one file per pid)."""
    return [int(p.name) for p in folder.iterdir()]


def start_with(make_worker: Callable[..., worker.TaskHubGrpcWorker], activity: Any,
               **options: Any) -> worker.TaskHubGrpcWorker:
    """A started worker running ``acts.call`` and ``activity`` in a child process."""
    w = make_worker([acts.call], **options)
    w.add_activity(activity, isolation="process")
    w.start()
    return w


def schedule_call(dt_client: client.TaskHubGrpcClient, name: str, value: Any) -> str:
    """Start ``acts.call`` of activity ``name`` with ``value``; its instance id."""
    return dt_client.schedule_new_orchestration(acts.call, input={"name": name, "input": value})
