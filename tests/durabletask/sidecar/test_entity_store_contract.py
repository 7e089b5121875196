"""The entity half of the ``Store`` contract, run against every store implementation."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.sidecar.clock import to_timestamp
from durabletask.sidecar.store import Store
from durabletask.sidecar.store.entity_base import (
    EntityCommit,
    EntityLock,
    EntityMessage,
    EntityQuery,
    EntityRecord,
    NewInstance,
    ResponseMessage,
)
from tests.durabletask.sidecar.test_store_contract import (
    COMPLETED,
    RUNNING,
    T0,
    commit,
    event,
    inbox_names,
    record,
    start,
)

E1, E2 = "@counter@1", "@counter@2"


def op(name: str, at=T0) -> pb.HistoryEvent:
    ev = pb.HistoryEvent(eventId=-1)
    ev.timestamp.CopyFrom(to_timestamp(at))
    ev.entityOperationSignaled.operation = name
    return ev


def msg(target: str = E1, name: str = "op", **fields) -> EntityMessage:
    return EntityMessage(target_id=target, event=op(name), **fields)


def ops(store: Store, entity_id: str = E1, now=T0) -> list[str]:
    loaded = store.load_entity(entity_id, now)
    assert loaded is not None
    return [row.event.entityOperationSignaled.operation for row in loaded[1]]


def test_first_message_creates_a_stateless_entity_with_a_fifo_inbox(store):
    assert store.get_entity(E1) is None
    assert store.load_entity(E1, T0) is None
    store.append_entity_messages([msg(name="a", source_id="o1", source_execution="x"), msg(
        name="b")])
    found = store.get_entity(E1)
    assert found == EntityRecord(entity_id=E1, last_modified_at=T0, backlog=2)
    assert ops(store) == ["a", "b"]
    first = store.load_entity(E1, T0)[1][0]
    assert (first.source_id, first.source_execution) == ("o1", "x")


def test_delayed_messages_are_visible_from_their_time_and_listed_for_recovery(store):
    later = T0 + timedelta(seconds=5)
    store.append_entity_messages([msg(name="later", visible_at=later), msg(E2, "now")])
    assert ops(store) == []
    assert ops(store, now=later) == ["later"]
    assert sorted(store.pending_entity_rows(), key=str) == sorted(
        [(E1, later), (E2, None)], key=str)
    assert store.get_entity(E1).backlog == 1


def test_commit_stores_the_record_and_deletes_only_consumed_rows(store):
    store.append_entity_messages([msg(name="a"), msg(name="b")])
    rows = store.load_entity(E1, T0)[1]
    lock = EntityLock(holder_id="o1", holder_execution="x", section_id="cs")
    new = EntityRecord(entity_id=E1, last_modified_at=T0 + timedelta(seconds=1), state="5",
                       lock=lock)
    store.commit_entity(EntityCommit(entity_id=E1, record=new, consumed=(rows[0].seq,)))
    assert store.get_entity(E1) == dataclasses.replace(new, backlog=1)
    assert ops(store) == ["b"]


def test_commit_queues_messages_for_other_entities(store):
    store.commit_entity(EntityCommit(entity_id=E1, entity_messages=[msg(E2, "forwarded")]))
    assert ops(store, E2) == ["forwarded"]


def test_commit_delivers_responses_only_to_the_current_running_execution(store):
    rec = start(store, "o1")
    done = start(store, "done")
    store.commit_episode(commit(done, record=dataclasses.replace(
        done, status=pb.ORCHESTRATION_STATUS_COMPLETED)))
    responses = [
        ResponseMessage(instance_id="o1", execution_id=rec.execution_id, event=event(name="ok")),
        ResponseMessage(instance_id="o1", execution_id="old", event=event(name="stale")),
        ResponseMessage(instance_id="o1", execution_id=None, event=event(name="any")),
        ResponseMessage(instance_id="missing", execution_id=None, event=event(name="lost")),
        ResponseMessage(instance_id="done", execution_id=None, event=event(name="late")),
    ]
    result = store.commit_entity(EntityCommit(entity_id=E1, responses=responses))
    assert result.delivered_to == ("o1", "o1")
    assert inbox_names(store, "o1") == ["executionStarted", "eventRaisedok", "eventRaisedany"]
    assert store.get_instance("missing") is None


def test_commit_starts_new_instances_unless_the_id_is_taken_by_a_running_one(store):
    start(store, "taken")
    fresh = NewInstance(record=record("fresh"), start_event=event("executionStarted"))
    clash = NewInstance(record=record("taken", execution="e9"),
                        start_event=event("executionStarted"))
    result = store.commit_entity(EntityCommit(entity_id=E1, new_instances=[fresh, clash]))
    assert result.created == ("fresh",)
    assert store.get_instance("fresh") == fresh.record
    assert store.get_instance("taken").execution_id == "e1"
    assert inbox_names(store, "fresh") == ["executionStarted"]


def test_commit_replaces_a_finished_instance_with_the_started_one(store):
    # As the 1.12.0 in-memory backend does: an entity may start an orchestration again
    # under the id of one that finished (e.g. a restarted export job's orchestrator).
    done = start(store, "done")
    store.commit_episode(commit(done, record=dataclasses.replace(done, status=COMPLETED),
                                history_append=[event("executionCompleted")]))
    again = NewInstance(record=record("done", execution="e2"),
                        start_event=event("executionStarted"))

    result = store.commit_entity(EntityCommit(entity_id=E1, new_instances=[again]))

    assert result.created == ("done",)
    assert store.get_instance("done") == again.record
    assert store.get_history("done") == []
    assert inbox_names(store, "done") == ["executionStarted"]


def test_episode_commit_queues_entity_messages_with_the_episode(store):
    rec = start(store)
    store.commit_episode(commit(rec, entity_messages=[msg(name="from-orch", source_id="i1")]))
    assert store.get_instance("i1").status == RUNNING
    assert ops(store) == ["from-orch"]


def test_delete_entity_only_when_empty(store):
    store.append_entity_messages([msg()])
    assert not store.delete_entity(E1)  # a queued message
    rows = store.load_entity(E1, T0)[1]
    base = store.get_entity(E1)
    locked = dataclasses.replace(base, lock=EntityLock(holder_id="o", holder_execution=None,
                                                       section_id="s"))
    store.commit_entity(EntityCommit(entity_id=E1, record=locked, consumed=(rows[0].seq,)))
    assert not store.delete_entity(E1)  # locked
    store.commit_entity(EntityCommit(entity_id=E1, record=dataclasses.replace(base, state="1")))
    assert not store.delete_entity(E1)  # has state
    store.commit_entity(EntityCommit(entity_id=E1, record=dataclasses.replace(base, state=None)))
    assert store.delete_entity(E1)
    assert store.get_entity(E1) is None
    assert not store.delete_entity(E1)


def test_query_filters_orders_and_pages_by_entity_id(store):
    for entity_id, state, seconds in (("@b@1", "1", 10), ("@a@2", None, 20), ("@a@1", "3", 30)):
        store.commit_entity(EntityCommit(entity_id=entity_id, record=EntityRecord(
            entity_id=entity_id, state=state, last_modified_at=T0 + timedelta(seconds=seconds))))

    def ids(**fields) -> list[str]:
        return [r.entity_id for r in store.query_entities(EntityQuery(**fields))]

    assert ids() == ["@a@1", "@a@2", "@b@1"]
    assert ids(include_transient=False) == ["@a@1", "@b@1"]
    assert ids(id_prefix="@a@") == ["@a@1", "@a@2"]
    assert ids(after="@a@1", limit=1) == ["@a@2"]
    assert ids(modified_from=T0 + timedelta(seconds=20)) == ["@a@1", "@a@2"]
    assert ids(modified_to=T0 + timedelta(seconds=20)) == ["@b@1"]


def test_entity_loss_counts_until_a_batch_is_answered(store):
    store.append_entity_messages([msg()])
    assert store.record_entity_loss(E1) == 1
    assert store.record_entity_loss(E1) == 2
    store.commit_entity(EntityCommit(entity_id=E1, reset_losses=True))
    assert store.record_entity_loss(E1) == 1


def test_clear_deletes_entities(store):
    store.append_entity_messages([msg(), msg(E2)])
    store.clear()
    assert store.get_entity(E1) is None
    assert store.pending_entity_rows() == []
    assert store.query_entities(EntityQuery()) == []
