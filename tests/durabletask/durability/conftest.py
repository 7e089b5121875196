"""Fixtures for durability tests: child processes, and in-process sidecars over SQLite files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from durabletask import client, worker
from durabletask.sidecar.store import SqliteStore
from tests.durabletask.conftest import FAST_WORKER_RESILIENCY
from tests.durabletask.durability import apps
from tests.durabletask.durability.procs import Children
from tests.durabletask.sidecar.conftest import Harness, harness_factory


@pytest.fixture
def children(tmp_path: Path) -> Iterator[Children]:
    """Child processes of the test; all are killed and reaped afterwards."""
    kids = Children(tmp_path)
    try:
        yield kids
    finally:
        kids.kill_all()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A fresh database file path."""
    return tmp_path / "state.db"


@pytest.fixture
def make_sqlite_harness(db_path: Path) -> Iterator[Callable[..., Harness]]:
    """Builds harnesses over in-process sidecars on ``db_path``; stop one to 'restart'."""
    with harness_factory() as factory:
        yield lambda **options: factory(store=SqliteStore(db_path), **options)


def stop_harness(harness: Harness) -> None:
    """Close a harness's workers and channel, and stop (and close the store of) its sidecar."""
    harness.close()
    harness.sidecar.stop()


@pytest.fixture
def make_sdk_worker() -> Iterator[Callable[[str], worker.TaskHubGrpcWorker]]:
    """Starts public-SDK workers running ``apps`` against an address; stopped afterwards."""
    created: list[worker.TaskHubGrpcWorker] = []

    def factory(address: str) -> worker.TaskHubGrpcWorker:
        w = worker.TaskHubGrpcWorker(host_address=address,
                                     resiliency_options=FAST_WORKER_RESILIENCY)
        for fn in apps.ORCHESTRATORS:
            w.add_orchestrator(fn)
        for fn in apps.ACTIVITIES:
            w.add_activity(fn)
        created.append(w)
        w.start()
        return w

    yield factory
    for w in created:
        w.stop()


@pytest.fixture
def make_client() -> Iterator[Callable[[str], client.TaskHubGrpcClient]]:
    """Public-SDK clients for an address; closed afterwards."""
    created: list[client.TaskHubGrpcClient] = []

    def factory(address: str) -> client.TaskHubGrpcClient:
        c = client.TaskHubGrpcClient(host_address=address)
        created.append(c)
        return c

    yield factory
    for c in created:
        c.close()
