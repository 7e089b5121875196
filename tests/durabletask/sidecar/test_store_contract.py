"""The ``Store`` contract, run against every store implementation."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.sidecar.store import (
    EpisodeCommit,
    InstanceQuery,
    InstanceRecord,
    MemoryStore,
    NewChild,
    OutboxMessage,
    SqliteStore,
    Store,
)

# Add new stores here (factories get a temporary directory).
STORE_FACTORIES: dict[str, Callable[[Path], Store]] = {
    "memory": lambda _tmp: MemoryStore(),
    "sqlite": lambda tmp: SqliteStore(tmp / "store.db"),
}

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
COMPLETED = pb.ORCHESTRATION_STATUS_COMPLETED
RUNNING = pb.ORCHESTRATION_STATUS_RUNNING
FAILED = pb.ORCHESTRATION_STATUS_FAILED


def record(iid: str = "i1", *, execution: str = "e1", at: datetime = T0, name: str = "orch",
           **fields):
    return InstanceRecord(instance_id=iid, execution_id=execution, name=name, created_at=at,
                          last_updated_at=at, **fields)


def event(kind: str = "eventRaised", name: str = "") -> pb.HistoryEvent:
    ev = pb.HistoryEvent(eventId=-1)
    getattr(ev, kind).SetInParent()
    if kind == "eventRaised":
        ev.eventRaised.name = name
    return ev


def start(store: Store, iid: str = "i1", **fields) -> InstanceRecord:
    rec = record(iid, **fields)
    assert store.create_instance(rec, event("executionStarted"))
    return rec


def commit(rec: InstanceRecord, consumed=(), **fields) -> EpisodeCommit:
    fields.setdefault("record", dataclasses.replace(rec, status=RUNNING))
    return EpisodeCommit(instance_id=rec.instance_id, expected_execution_id=rec.execution_id,
                         consumed=tuple(consumed), **fields)


def inbox_names(store: Store, iid: str = "i1", now: datetime = T0) -> list[str]:
    episode = store.load_episode(iid, now)
    return [] if episode is None else [r.event.WhichOneof("eventType") + r.event.eventRaised.name
                                       for r in episode.inbox]


def test_create_instance_stores_record_and_queues_start_event(store):
    rec = start(store, input='"x"', tags={"a": "b"})
    assert store.get_instance("i1") == rec
    assert list(store.get_history("i1")) == []
    assert inbox_names(store) == ["executionStarted"]
    assert store.get_instance("nope") is None
    assert store.get_history("nope") is None


def test_create_instance_refuses_existing_unless_status_replaceable(store):
    rec = start(store)
    store.append_inbox("i1", event(name="old"))
    assert not store.create_instance(record(execution="e2"), event("executionStarted"))
    assert store.create_instance(record(execution="e2"), event("executionStarted"),
                                 replaceable_statuses=frozenset({rec.status}))
    assert store.get_instance("i1").execution_id == "e2"
    assert inbox_names(store) == ["executionStarted"]


def test_events_for_unknown_instance_are_kept_until_creation(store):
    assert store.append_inbox("i1", event(name="early"))
    assert store.load_episode("i1", T0) is None
    start(store)
    assert inbox_names(store) == ["eventRaisedearly", "executionStarted"]


def test_start_event_visible_only_from_visible_at(store):
    later = T0 + timedelta(seconds=10)
    store.create_instance(record(), event("executionStarted"), visible_at=later)
    assert store.load_episode("i1", T0) is None
    assert inbox_names(store, now=later) == ["executionStarted"]
    assert store.pending_inbox() == [("i1", later)]


def test_commit_appends_history_and_deletes_only_consumed_rows(store):
    rec = start(store)
    episode = store.load_episode("i1", T0)
    store.append_inbox("i1", event(name="during"))
    history = [event("orchestratorStarted"), *[r.event for r in episode.inbox]]
    result = store.commit_episode(commit(rec, [r.seq for r in episode.inbox],
                                         history_append=history))
    assert result is not None
    assert list(result.activity_tasks) == []
    assert [e.WhichOneof("eventType") for e in store.get_history("i1")] == [
        "orchestratorStarted", "executionStarted"]
    assert store.get_instance("i1").status == RUNNING
    assert inbox_names(store) == ["eventRaisedduring"]


def test_commit_is_refused_for_changed_execution(store):
    rec = start(store)
    stale = dataclasses.replace(rec, execution_id="other")
    assert store.commit_episode(commit(stale, record=stale)) is None
    assert store.get_instance("i1") == rec


def test_commit_replaces_history_when_asked(store):
    rec = start(store)
    store.commit_episode(commit(rec, history_append=[event("orchestratorStarted")] * 3))
    new_rec = dataclasses.replace(rec, status=RUNNING, execution_id="e2")
    store.commit_episode(commit(rec, record=new_rec, history_replace=[event("executionStarted")]))
    assert len(store.get_history("i1")) == 1
    assert store.get_instance("i1").execution_id == "e2"


def test_commit_writes_activities_messages_and_children(store):
    rec = start(store)
    start(store, "other")
    later = T0 + timedelta(seconds=5)
    child = NewChild(record=record("kid"), start_event=event("executionStarted"),
                     failed_event=event("subOrchestrationInstanceFailed"))
    result = store.commit_episode(commit(
        rec,
        activities=[pb.ActivityRequest(name="a", taskId=1)],
        messages=[OutboxMessage(target_id="other", event=event(name="hi")),
                  OutboxMessage(target_id="i1", event=event("timerFired"), visible_at=later)],
        children=[child],
    ))
    (task,) = result.activity_tasks
    assert (task.instance_id, task.execution_id, task.request.name) == ("i1", "e1", "a")
    assert store.pending_activity_tasks() == [task]
    assert inbox_names(store, "other") == ["executionStarted", "eventRaisedhi"]
    assert inbox_names(store, "kid") == ["executionStarted"]
    assert inbox_names(store, "i1") == ["executionStarted"]
    assert inbox_names(store, "i1", later) == ["executionStarted", "timerFired"]


def test_child_with_running_id_sends_failed_event_to_parent(store):
    rec = start(store)
    start(store, "kid")
    child = NewChild(record=record("kid", execution="new"), start_event=event("executionStarted"),
                     failed_event=event("subOrchestrationInstanceFailed"))
    store.commit_episode(commit(rec, consumed=[], children=[child]))
    assert store.get_instance("kid").execution_id == "e1"
    assert inbox_names(store)[-1] == "subOrchestrationInstanceFailed"


def test_terminal_commit_drops_inbox_and_later_messages(store):
    rec = start(store)
    store.append_inbox("i1", event(name="pending"))
    done = dataclasses.replace(rec, status=COMPLETED, completed_at=T0)
    store.commit_episode(commit(rec, record=done))
    assert store.load_episode("i1", T0) is None
    assert not store.append_inbox("i1", event(name="late"))
    assert store.pending_inbox() == []


def test_activity_result_delivered_once_and_only_to_live_execution(store):
    rec = start(store)
    result = store.commit_episode(commit(rec, activities=[pb.ActivityRequest(name="a", taskId=1),
                                                          pb.ActivityRequest(name="b", taskId=2)]))
    first, second = result.activity_tasks
    assert store.commit_activity_result(first.seq, event("taskCompleted"))
    assert not store.commit_activity_result(first.seq, event("taskCompleted"))
    store.commit_episode(commit(dataclasses.replace(rec, status=RUNNING),
                                record=dataclasses.replace(rec, execution_id="e2")))
    assert not store.commit_activity_result(second.seq, event("taskCompleted"))
    assert store.pending_activity_tasks() == []


def test_drop_activity_task_removes_it(store):
    rec = start(store)
    (task,) = store.commit_episode(commit(rec, activities=[pb.ActivityRequest(name="a")])
                                   ).activity_tasks
    store.drop_activity_task(task.seq)
    store.drop_activity_task(task.seq)
    assert store.pending_activity_tasks() == []


def test_loss_counts_grow_and_reset_on_commit(store):
    rec = start(store)
    assert [store.record_orchestration_loss("i1") for _ in range(2)] == [1, 2]
    store.commit_episode(commit(rec))
    assert store.record_orchestration_loss("i1") == 1
    (task,) = store.commit_episode(commit(dataclasses.replace(rec, status=RUNNING),
                                          activities=[pb.ActivityRequest(name="a")])).activity_tasks
    assert [store.record_activity_loss(task.seq) for _ in range(2)] == [1, 2]


def test_rewind_only_failed_instances(store):
    rec = start(store)
    assert store.rewind_instance("i1", event("executionRewound"), T0) is None
    failed = dataclasses.replace(rec, status=FAILED, failure=pb.TaskFailureDetails(errorType="E"),
                                 completed_at=T0)
    store.commit_episode(commit(rec, record=failed))
    rewound = store.rewind_instance("i1", event("executionRewound"), T0)
    assert rewound.status == RUNNING
    assert rewound.failure is None
    assert rewound.output is None
    assert inbox_names(store) == ["executionRewound"]


def test_purge_only_terminal_instances(store):
    rec = start(store)
    assert not store.purge_instance("i1")
    store.commit_episode(commit(rec, record=dataclasses.replace(rec, status=COMPLETED)))
    assert store.purge_instance("i1")
    assert store.get_instance("i1") is None
    assert store.get_history("i1") is None
    assert not store.purge_instance("i1")


def test_query_filters_orders_and_pages(store):
    for i in range(4):
        start(store, f"job-{i}", at=T0 + timedelta(seconds=i))
    start(store, "zzz", at=T0)
    rows = store.query_instances(InstanceQuery(id_prefix="job-", limit=2))
    assert [r.instance_id for r in rows] == ["job-0", "job-1"]
    after = (rows[-1].created_at, rows[-1].instance_id)
    rest = store.query_instances(InstanceQuery(id_prefix="job-", after=after))
    assert [r.instance_id for r in rest] == ["job-2", "job-3"]
    ranged = store.query_instances(InstanceQuery(created_from=T0 + timedelta(seconds=1),
                                                 created_to=T0 + timedelta(seconds=2)))
    assert [r.instance_id for r in ranged] == ["job-1", "job-2"]
    assert store.query_instances(InstanceQuery(statuses=frozenset({COMPLETED}))) == []


def test_query_by_completion_lists_only_completed_instances(store):
    rec = start(store)
    start(store, "running")
    done = dataclasses.replace(rec, status=COMPLETED, completed_at=T0)
    store.commit_episode(commit(rec, record=done))
    rows = store.query_instances(InstanceQuery(order_by="completed"))
    assert [r.instance_id for r in rows] == ["i1"]


def test_query_newest_first_pages_down_from_the_cursor(store):
    # The dashboard lists newest first, one page at a time.
    for i in range(5):
        start(store, f"job-{i}", at=T0 + timedelta(seconds=i // 2))
    first = store.query_instances(InstanceQuery(descending=True, limit=2))
    assert [r.instance_id for r in first] == ["job-4", "job-3"]
    after = (first[-1].created_at, first[-1].instance_id)
    rest = store.query_instances(InstanceQuery(descending=True, after=after))
    assert [r.instance_id for r in rest] == ["job-2", "job-1", "job-0"]


def test_query_search_matches_id_or_name_ignoring_ascii_case(store):
    start(store, "Order-17")
    start(store, "x1", name="ShipOrder")
    start(store, "x2", name="Bill")
    start(store, "x3", name="café")
    rows = store.query_instances(InstanceQuery(search="ORDER"))
    assert sorted(r.instance_id for r in rows) == ["Order-17", "x1"]
    assert [r.instance_id for r in store.query_instances(InstanceQuery(search="caf"))] == ["x3"]
    assert store.query_instances(InstanceQuery(search="%")) == []


def test_count_by_status_applies_filters_but_not_the_page(store):
    rec = start(store, "a-1")
    start(store, "a-2")
    start(store, "b-1")
    store.commit_episode(commit(rec, record=dataclasses.replace(rec, status=COMPLETED,
                                                                completed_at=T0)))
    assert store.count_by_status(InstanceQuery(limit=1, after=(T0, "zzz"))) == {
        COMPLETED: 1, pb.ORCHESTRATION_STATUS_PENDING: 2}
    assert store.count_by_status(InstanceQuery(search="a-")) == {
        COMPLETED: 1, pb.ORCHESTRATION_STATUS_PENDING: 1}
    assert store.count_by_status(InstanceQuery(statuses=frozenset({RUNNING}))) == {}


def test_clear_deletes_everything(store):
    start(store)
    store.append_inbox("ghost", event())
    store.clear()
    assert store.get_instance("i1") is None
    assert store.pending_inbox() == []
