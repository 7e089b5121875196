"""``durabletask.testing.Replayer``: recorded histories replayed offline against changed code.

Histories are recorded on our embedded sidecar (``conftest.py``) in both JSON shapes; the
official SDK's recordings are replayed in ``interop/test_replay_official_histories.py``.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from durabletask import history, task
from durabletask.cli.render import history_document
from durabletask.internal.engine import OrchestratorNotRegisteredError
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.task import NonDeterminismError
from durabletask.testing import HistoryFormatError, Replayer, create_test_backend
from durabletask.testing.history_json import load_history, to_history_events
from tests.durabletask.engine import entity_histories as eh
from tests.durabletask.engine import histories as h
from tests.durabletask.interop import replay_workflows as wf
from tests.durabletask.toolkit.replay_cases import CHANGES, assert_replayer_verdict


@pytest.mark.parametrize("shape", ["to_dict", "cli"])
@pytest.mark.parametrize("change", CHANGES, ids=lambda c: f"{c.workflow}-{c.name}")
def test_replayer_flags_each_change_on_histories_recorded_by_our_sidecar(
        our_histories, shape, change):
    assert_replayer_verdict(change, our_histories[shape] / f"{change.workflow}.json")


def test_both_json_shapes_read_back_to_the_same_events(our_histories):
    for name in wf.INPUTS:
        plain = load_history(our_histories["to_dict"] / f"{name}.json")
        cli = load_history(our_histories["cli"] / f"{name}.json")
        assert plain == cli
        # Written back with the CLI's own rendering, nothing is lost on the way.
        documents = [history_document(history.history_event_from_proto(e)) for e in plain]
        assert to_history_events(json.loads(json.dumps(documents))) == plain


def test_history_objects_from_the_client_replay_without_a_file():
    backend = create_test_backend(port=0)
    try:
        from durabletask import client

        instances = _record_in(backend.address)
        with client.TaskHubGrpcClient(host_address=backend.address) as c:
            events = c.get_orchestration_history(instances["order_flow"])
    finally:
        backend.stop()

    result = Replayer([wf.order_flow]).replay(events)

    assert result.ok, str(result)
    assert result.orchestrator == "order_flow"
    assert result.instance_id == instances["order_flow"]


def _record_in(address: str) -> dict[str, str]:
    import tempfile

    with tempfile.TemporaryDirectory() as out:
        return wf.record(address, out)


def test_the_report_lists_every_mismatch_and_raises_for_tests(our_histories):
    replayer = Replayer([wf.child_sum])
    replayer.add_orchestrator(_renamed_twice, "order_flow")

    result = replayer.replay_file(our_histories["to_dict"] / "order_flow.json")

    names = [m.history for m in result.mismatches if m.event_type == "taskScheduled"]
    assert [n.split()[1] for n in names] == ["'reserve'", "'charge'"]
    text = str(result)
    assert text.startswith(f"{our_histories['to_dict'] / 'order_flow.json'}: orchestrator ")
    assert f"{len(result.mismatches)} mismatches" in text
    with pytest.raises(NonDeterminismError, match="'reserve_v2'"):
        result.raise_if_mismatched()


def _renamed_twice(ctx: task.OrchestrationContext, order: str):
    reservation = yield ctx.call_activity("reserve_v2", input=order)
    yield ctx.create_timer(wf.TIMER)
    return (yield ctx.call_activity("charge_v2", input=reservation))


def test_an_unregistered_orchestrator_is_named_with_the_registered_ones(our_histories):
    with pytest.raises(OrchestratorNotRegisteredError) as raised:
        Replayer([wf.child_sum]).replay_file(our_histories["cli"] / "order_flow.json")

    message = str(raised.value)
    assert "'order_flow'" in message
    assert "'child_sum'" in message


# ----- the to_dict shape: types inferred from fields and from the history's order ---------

def _suspend_sub_orchestration_and_entities() -> list[pb.HistoryEvent]:
    def parent(ctx, _):
        try:
            yield ctx.call_sub_orchestrator("child")
        except task.TaskFailedError:
            pass
        result = yield ctx.call_sub_orchestrator("child")
        try:
            yield ctx.call_activity("act")
        except task.TaskFailedError:
            pass
        return (yield ctx.call_entity(eh.EntityInstanceId("counter", "a"), "get")), result

    episodes = eh.EntityEpisodes(h.new_executor([parent]))
    episodes.run(h.execution_started("parent"))
    episodes.run(h.execution_suspended(), h.execution_resumed(), h.sub_orchestration_failed(1))
    episodes.run(h.sub_orchestration_completed(2, "sub"))
    entity_call = episodes.run(h.task_failed(3))
    request_id = eh.call_request_id(entity_call, "@counter@a")
    episodes.run(h.execution_suspended(), eh.operation_completed(request_id, 3))
    episodes.run(h.execution_resumed())
    return episodes.history


def test_plain_to_dict_documents_are_typed_by_fields_and_by_history_order():
    events = _suspend_sub_orchestration_and_entities()
    documents = [history.history_event_from_proto(e).to_dict() for e in events]
    assert all("event_type" not in d for d in documents)

    assert to_history_events(json.loads(json.dumps(documents))) == events


def test_history_format_errors_say_which_item_is_wrong(tmp_path):
    path = tmp_path / "bad.json"
    cases = [
        ("{not json", "not JSON"),
        ('{"events": []}', "a JSON list of events"),
        ('[{"event_id": 1, "timestamp": null, "colour": "red"}]', "item 0"),
        ('[{"event_type": "NoSuchEvent", "event_id": 1}]', "unknown event_type 'NoSuchEvent'"),
        ('[{"event_type": "TaskScheduledEvent", "event_id": 1, "nam": "x"}]', "no field 'nam'"),
    ]
    for text, expected in cases:
        path.write_text(text)
        with pytest.raises(HistoryFormatError, match=expected) as raised:
            load_history(path)
        assert str(path) in str(raised.value)


# ----- running instances and outcomes ----------------------------------------------------

def _chain(ctx: task.OrchestrationContext, steps: int):
    for step in range(steps):
        yield ctx.call_activity("step", input=step)
    return "done"


def _running_history() -> list[pb.HistoryEvent]:
    episodes = h.Episodes(h.new_executor([_chain]))
    episodes.run(h.execution_started("_chain", 3))
    episodes.run(h.task_completed(1))
    return episodes.history  # still waiting for step 2


def _with_completion(events: list[pb.HistoryEvent]) -> list[pb.HistoryEvent]:
    # What a sidecar records in the last episode's commit (the test helper does not).
    completed = h.execution_completed(pb.ORCHESTRATION_STATUS_COMPLETED)
    return [*events[:-1], completed, events[-1]]


def test_a_history_of_a_running_instance_replays_cleanly():
    assert Replayer([_chain]).replay(_running_history()).ok


def test_code_that_finishes_where_the_history_goes_on_is_flagged():
    def _short(ctx, steps):
        yield ctx.call_activity("step", input=0)
        return "done early"

    replayer = Replayer()
    replayer.add_orchestrator(_short, "_chain")

    result = replayer.replay(_running_history())

    assert [(m.event_type, m.code) for m in result.mismatches] == [
        ("taskCompleted", "finished here: completed"),  # the code returned after step 0
        ("taskScheduled", "made no action with that id"),  # the history goes on to step 1
    ]


def test_a_changed_outcome_is_flagged_at_the_recorded_completion():
    def _fails(ctx, steps):
        yield ctx.call_activity("step", input=0)
        raise ValueError("now it fails")

    episodes = h.Episodes(h.new_executor([_chain]))
    episodes.run(h.execution_started("_chain", 1))
    episodes.run(h.task_completed(1))
    recorded = _with_completion(episodes.history)
    replayer = Replayer()
    replayer.add_orchestrator(_fails, "_chain")

    result = replayer.replay(recorded)

    [mismatch] = result.mismatches
    assert mismatch.index == len(recorded) - 2
    assert mismatch.history == "the orchestration completed"
    assert mismatch.code == "failed (builtins.ValueError: now it fails)"


def test_long_timers_are_replayed_with_the_workers_maximum_timer_interval():
    def _sleeps(ctx, _):
        yield ctx.create_timer(timedelta(days=2))
        return "awake"

    episodes = h.Episodes(h.new_executor([_sleeps], maximum_timer_interval=timedelta(days=1)))
    episodes.run(h.execution_started("_sleeps"))
    episodes.run(h.timer_fired(1, h.T0 + timedelta(days=1)), at=h.T0 + timedelta(days=1))
    episodes.run(h.timer_fired(2, h.T0 + timedelta(days=2)), at=h.T0 + timedelta(days=2))
    recorded = _with_completion(episodes.history)

    default = Replayer([_sleeps]).replay(recorded)
    matching = Replayer([_sleeps], maximum_timer_interval=timedelta(days=1)).replay(recorded)

    assert not default.ok  # recorded in one-day chunks, replayed as one two-day timer
    assert matching.ok, str(matching)
