"""Entity locks over raw gRPC: ordered acquisition, holders only, release on unlock and on end."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.sidecar.entities.core import CLEAN_PAGE_SIZE
from durabletask.sidecar.store import MemoryStore, SqliteStore
from durabletask.sidecar.store.entity_base import EntityCommit, EntityLock, EntityRecord
from tests.durabletask.sidecar.fake_worker import (
    call_entity,
    complete,
    kinds,
    lock_entities,
    operations,
    success,
    unlock_entity,
)
from tests.durabletask.sidecar.test_entities import get_entity, query, signal

A, B = "@account@a", "@account@b"


@pytest.fixture(params=["memory", "sqlite"])
def eh(request, make_harness, tmp_path):
    if request.param == "sqlite":
        return make_harness(store=SqliteStore(tmp_path / "locks.db"))
    return make_harness()


def lock_holder(h, entity_id: str) -> str | None:
    """``lockedBy`` of an entity as QueryEntities reports it (None: unlocked)."""
    for entity in query(h, includeTransient=True).entities:
        if entity.instanceId == entity_id:
            return entity.lockedBy.value if entity.HasField("lockedBy") else None
    raise AssertionError(f"{entity_id} is not listed")


def granted(worker, instance_id: str, section: str) -> pb.WorkItem:
    """The next episode of ``instance_id``, which must bring ``entityLockGranted``."""
    item = worker.orchestration(instance_id)
    last = item.orchestratorRequest.newEvents[-1]
    assert last.entityLockGranted.criticalSectionId == section, last
    return item


def lock(worker, instance_id: str, section: str, *entity_ids: str) -> None:
    """Answer the instance's next episode with a lock request."""
    worker.complete(worker.orchestration(instance_id),
                    lock_entities(0, instance_id, section, *entity_ids))


def test_lock_set_is_acquired_in_order_and_granted_once_all_are_held(eh):
    eh.start("o1")
    worker = eh.worker()
    lock(worker, "o1", "cs1", B, A)  # unsorted on purpose
    granted(worker, "o1", "cs1")
    assert lock_holder(eh, A) == "o1"
    assert lock_holder(eh, B) == "o1"
    requested = [e for e in eh.history("o1") if e.HasField("entityLockRequested")]
    assert [e.eventId for e in requested] == [0]  # the A-event carries the action id


def test_locked_entity_serves_only_its_holder_until_unlocked(eh):
    eh.start("o1")
    worker = eh.worker()
    lock(worker, "o1", "cs1", A)
    in_section = granted(worker, "o1", "cs1")
    signal(eh, A, "from-client")
    worker.expect_nothing(within=0.2)  # the client's signal waits for the unlock
    worker.complete(in_section, call_entity(1, A, "from-holder", "r1"))
    batch = worker.entity(A)
    assert [op for _, op, _ in operations(batch)] == ["from-holder"]
    worker.complete_entity(batch, [success('"ok"')], state="1")
    result = worker.orchestration("o1")
    assert result.orchestratorRequest.newEvents[-1].entityOperationCompleted.requestId == "r1"
    worker.complete(result, unlock_entity(2, "o1", "cs1", A), complete(3))
    assert [op for _, op, _ in operations(worker.entity(A))] == ["from-client"]
    assert lock_holder(eh, A) is None


def test_unlock_hands_the_lock_to_the_next_requester_in_order(eh):
    for iid in ("o1", "o2", "o3"):
        eh.start(iid)
    worker = eh.worker()
    lock(worker, "o1", "cs1", A, B)
    o1 = granted(worker, "o1", "cs1")
    lock(worker, "o2", "cs2", A)
    lock(worker, "o3", "cs3", B)
    worker.expect_nothing(within=0.2)  # both wait behind o1
    assert lock_holder(eh, A) == "o1"
    worker.complete(o1, unlock_entity(1, "o1", "cs1", A), unlock_entity(2, "o1", "cs1", B))
    granted(worker, "o2", "cs2")
    granted(worker, "o3", "cs3")
    assert (lock_holder(eh, A), lock_holder(eh, B)) == ("o2", "o3")


@pytest.mark.parametrize("end", ["complete", "terminate"])
def test_locks_of_an_orchestration_that_ends_are_released(eh, end):
    eh.start("o1")
    eh.start("o2")
    worker = eh.worker()
    lock(worker, "o1", "cs1", A, B)
    o1 = granted(worker, "o1", "cs1")
    lock(worker, "o2", "cs2", B)
    if end == "terminate":
        eh.stub.TerminateInstance(pb.TerminateRequest(instanceId="o1"), timeout=5)
        worker.complete(o1)
        worker.complete(worker.orchestration("o1"),
                        complete(1, pb.ORCHESTRATION_STATUS_TERMINATED))
    else:
        worker.complete(o1, complete(1))  # ends inside its critical section, no unlock
    granted(worker, "o2", "cs2")
    assert lock_holder(eh, A) is None
    assert lock_holder(eh, B) == "o2"


def test_lock_request_of_an_ended_orchestration_is_never_granted(eh):
    eh.start("o1")
    eh.start("o2")
    worker = eh.worker()
    lock(worker, "o1", "cs1", A)
    o1 = granted(worker, "o1", "cs1")
    lock(worker, "o2", "cs2", A, B)  # waits at A
    eh.stub.TerminateInstance(pb.TerminateRequest(instanceId="o2"), timeout=5)
    worker.complete(worker.orchestration("o2"), complete(1, pb.ORCHESTRATION_STATUS_TERMINATED))
    eh.wait_done("o2")
    worker.complete(o1, unlock_entity(1, "o1", "cs1", A), complete(2))
    eh.wait_done("o1")
    worker.expect_nothing(within=0.2)
    assert lock_holder(eh, A) is None
    assert lock_holder(eh, B) is None


def test_calls_of_other_orchestrations_wait_while_locked(eh):
    eh.start("o1")
    eh.start("o2")
    worker = eh.worker()
    lock(worker, "o1", "cs1", A)
    o1 = granted(worker, "o1", "cs1")
    worker.complete(worker.orchestration("o2"), call_entity(0, A, "other", "r2"))
    worker.expect_nothing(within=0.2)
    worker.complete(o1, unlock_entity(1, "o1", "cs1", A))
    assert [op for _, op, _ in operations(worker.entity(A))] == ["other"]


def test_operations_queued_before_a_lock_request_run_before_the_lock_is_taken(eh):
    eh.start("o1")
    worker = eh.worker()
    signal(eh, A, "first")
    batch = worker.entity(A)  # in flight while the lock request arrives
    lock(worker, "o1", "cs1", A)
    signal(eh, A, "after-the-request")
    worker.complete_entity(batch)
    granted(worker, "o1", "cs1")
    worker.expect_nothing(within=0.2)  # the later signal waits for the critical section
    assert kinds(batch.entityRequestV2.operationRequests) == ["entityOperationSignaled"]


def test_clean_releases_only_locks_whose_holder_is_gone(make_harness, tmp_path):
    path = tmp_path / "orphans.db"
    store = SqliteStore(path)
    # A lock held by an orchestration that no longer exists: a database written by a
    # build without release-on-end, or edited by hand. Nothing in the RPCs makes one.
    store.commit_entity(EntityCommit(entity_id=A, record=EntityRecord(
        entity_id=A, last_modified_at=datetime.now(timezone.utc),
        lock=EntityLock(holder_id="gone", holder_execution=None, section_id="old"),
    )))
    store.close()
    h = make_harness(store=SqliteStore(path))
    h.start("alive")
    worker = h.worker()
    lock(worker, "alive", "cs", B)
    granted(worker, "alive", "cs")
    cleaned = h.stub.CleanEntityStorage(
        pb.CleanEntityStorageRequest(releaseOrphanedLocks=True, removeEmptyEntities=True),
        timeout=5,
    )
    # The official in-memory backend releases every lock here; a running holder keeps it.
    assert cleaned.orphanedLocksReleased == 1
    assert cleaned.emptyEntitiesRemoved == 1  # A: no state, no lock, nothing queued any more
    assert lock_holder(h, B) == "alive"
    assert [e.instanceId for e in query(h, includeTransient=True).entities] == [B]
    assert not get_entity(h, B).exists  # locked but stateless: transient


def test_lock_of_a_replaced_holder_is_released_when_the_entity_next_runs(eh):
    eh.start("o1")
    worker = eh.worker()
    lock(worker, "o1", "cs1", A)
    granted(worker, "o1", "cs1")  # left unanswered: o1 runs inside its critical section
    signal(eh, A, "waits")
    worker.expect_nothing(within=0.2)
    policy = pb.OrchestrationIdReusePolicy(replaceableStatus=[pb.ORCHESTRATION_STATUS_RUNNING])
    eh.start("o1", orchestrationIdReusePolicy=policy)  # a new execution replaces the holder
    signal(eh, A, "wakes")
    batch = worker.entity(A)
    assert [op for _, op, _ in operations(batch)] == ["waits", "wakes"]
    assert lock_holder(eh, A) is None


def test_clean_works_in_pages(make_harness):
    store = MemoryStore()
    stamp = datetime.now(timezone.utc)
    for n in range(CLEAN_PAGE_SIZE + 1):
        entity_id = f"@empty@{n:04d}"
        store.commit_entity(EntityCommit(entity_id=entity_id, record=EntityRecord(
            entity_id=entity_id, last_modified_at=stamp)))
    h = make_harness(store=store)
    request = pb.CleanEntityStorageRequest(removeEmptyEntities=True)
    first = h.stub.CleanEntityStorage(request, timeout=5)
    assert first.emptyEntitiesRemoved == CLEAN_PAGE_SIZE
    assert first.HasField("continuationToken")
    request.continuationToken.CopyFrom(first.continuationToken)
    second = h.stub.CleanEntityStorage(request, timeout=5)
    assert second.emptyEntitiesRemoved == 1
    assert not second.HasField("continuationToken")
