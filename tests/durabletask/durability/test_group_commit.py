"""Group commit on SQLite: completions that arrive together share one transaction,
and none is acknowledged before it is on disk."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.sidecar import SidecarOptions
from durabletask.sidecar.group_commit import Effect, GroupCommitter
from durabletask.sidecar.store import InstanceQuery, SqliteStore
from durabletask.testing import VirtualClock
from tests.durabletask.sidecar.conftest import Harness, harness_factory
from tests.durabletask.sidecar.fake_worker import complete, schedule_task
from tests.durabletask.sidecar.test_store_contract import event, record, start

SidecarOnFile = Callable[..., tuple[Harness, SqliteStore]]


@pytest.fixture
def sidecar_on_file(db_path: Path) -> Iterator[SidecarOnFile]:
    """Starts sidecars over a SQLite store on ``db_path``; yields (harness, store) per call."""
    with harness_factory() as factory:
        def build(**options) -> tuple[Harness, SqliteStore]:
            store = SqliteStore(db_path)
            return factory(store=store, **options), store

        yield build


def _fan_out(harness: Harness, count: int) -> tuple[object, list[pb.WorkItem]]:
    harness.start("fan")
    worker = harness.worker()
    worker.complete(worker.orchestration("fan"),
                    *[schedule_task(i, "step") for i in range(1, count + 1)])
    return worker, [worker.activity("fan") for _ in range(count)]


def test_completions_arriving_together_share_one_commit(sidecar_on_file):
    harness, store = sidecar_on_file(group_commit_spacing_seconds=0.5,
                                     fan_in_batch_window_seconds=0.0)
    worker, activities = _fan_out(harness, 8)
    commits_before = store.commits

    with ThreadPoolExecutor(len(activities)) as pool:
        answers = [pool.submit(worker.complete_activity, item, result=str(i))
                   for i, item in enumerate(activities)]
        for answer in answers:
            answer.result(timeout=10)

    # 8 completions inside the spacing window: far fewer commits than completions.
    assert store.commits - commits_before <= 2
    results = set()
    while len(results) < len(activities):
        item = worker.orchestration("fan")
        results |= {e.taskCompleted.result.value for e in item.orchestratorRequest.newEvents
                    if e.HasField("taskCompleted")}
        worker.complete(item)
    assert results == {str(i) for i in range(len(activities))}


@contextlib.contextmanager
def _no_effects() -> Iterator[list[Effect]]:
    yield []


def test_by_default_a_group_is_one_loop_turn_and_never_waits_on_the_clock(db_path):
    # The default spacing gathers what arrives in one loop turn into one commit, and a
    # change arriving right after a commit is committed without waiting for time to
    # pass: the clock here never moves, so any wait on it would hang (bounded below).
    store = SqliteStore(db_path)
    committer = GroupCommitter(
        store, _no_effects,
        spacing_seconds=SidecarOptions().group_commit_spacing_seconds, clock=VirtualClock(),
    )

    def create(iid: str) -> Callable[[], None]:
        return lambda: start(store, iid)

    async def scenario() -> tuple[int, int]:
        before = store.commits
        await asyncio.gather(*(committer.run(create(f"turn-{i}")) for i in range(3)))
        together = store.commits - before
        await asyncio.wait_for(committer.run(create("right-after")), timeout=10)
        return together, store.commits - before

    try:
        together, total = asyncio.run(scenario())
        ids = {r.instance_id for r in store.query_instances(InstanceQuery())}
    finally:
        store.close()
    assert (together, total) == (1, 2)
    assert ids == {"turn-0", "turn-1", "turn-2", "right-after"}


def test_a_completion_is_on_disk_when_its_call_returns(sidecar_on_file, db_path):
    harness, _ = sidecar_on_file(group_commit_spacing_seconds=0.3)
    harness.start("one")
    worker = harness.worker()
    worker.complete(worker.orchestration("one"), schedule_task(1, "step"))
    # Right after a commit, so this completion waits for the next group.
    worker.complete_activity(worker.activity("one"), result='"done"')

    with sqlite3.connect(db_path) as reader:
        queued = reader.execute("SELECT COUNT(*) FROM activities").fetchone()[0]
        inbox = reader.execute(
            "SELECT COUNT(*) FROM inbox WHERE instance_id = 'one'").fetchone()[0]
    assert (queued, inbox) == (0, 1)

    worker.complete(worker.orchestration("one"), complete(2, result='"ok"'))
    assert harness.wait_done("one").output.value == '"ok"'


def test_a_failing_call_inside_a_group_rolls_back_alone(db_path):
    store = SqliteStore(db_path)
    try:
        with store.group():
            start(store, "a")
            with pytest.raises(AttributeError):
                # The record row is written, then the start event is not a message.
                store.create_instance(record("broken"), "not an event")  # type: ignore[arg-type]
            start(store, "b")
        assert store.commits == 1
        assert store.get_instance("broken") is None
        assert store.get_instance("a") is not None
        assert store.get_instance("b") is not None
    finally:
        store.close()
    reopened = SqliteStore(db_path)
    try:
        assert [r.instance_id for r in reopened.query_instances(InstanceQuery())] == ["a", "b"]
    finally:
        reopened.close()


def test_a_group_that_raises_leaves_nothing_behind(db_path):
    store = SqliteStore(db_path)
    try:
        with pytest.raises(RuntimeError, match="abort"):
            _start_then_abort(store)
        assert store.get_instance("a") is None
        assert store.commits == 0
    finally:
        store.close()


def _start_then_abort(store: SqliteStore) -> None:
    with store.group():
        start(store, "a")
        store.append_inbox("a", event(name="go"))
        raise RuntimeError("abort")
