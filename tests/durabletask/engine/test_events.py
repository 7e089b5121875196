"""External events, send_event, suspension and termination."""

from __future__ import annotations

import pytest

from durabletask import task
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from tests.durabletask.engine import histories as h


def collect_two(ctx, _):
    first = yield ctx.wait_for_external_event("Approval")
    second = yield ctx.wait_for_external_event("approval")
    return [first, second]


def test_events_raised_before_the_wait_are_buffered_fifo_and_case_insensitive():
    results = h.new_executor([collect_two]).execute(h.INSTANCE_ID, [], [
        h.orchestrator_started(), h.execution_started("collect_two"),
        h.event_raised("APPROVAL", 1), h.event_raised("approval", 2),
    ])
    assert h.output_of(results) == [1, 2]


def test_event_raised_later_completes_the_waiting_task():
    episodes = h.Episodes(h.new_executor([collect_two]))
    assert episodes.run(h.execution_started("collect_two")).actions == []
    assert episodes.run(h.event_raised("approval", "a")).actions == []
    assert h.output_of(episodes.run(h.event_raised("Approval", "b"))) == ["a", "b"]


def test_several_waits_for_one_name_are_completed_in_fifo_order():
    def orch(ctx, _):
        first = ctx.wait_for_external_event("e")
        second = ctx.wait_for_external_event("E")
        results = yield task.when_all([second, first])
        return results

    results = h.new_executor([orch]).execute(h.INSTANCE_ID, [], [
        h.orchestrator_started(), h.execution_started("orch"),
        h.event_raised("e", "one"), h.event_raised("e", "two"),
    ])
    assert h.output_of(results) == ["two", "one"]


def test_event_data_is_converted_to_data_type():
    class Point:
        def __init__(self, x):
            self.x = x

        @classmethod
        def from_json(cls, value):
            return cls(value["x"])

    def orch(ctx, _):
        point = yield ctx.wait_for_external_event("p", data_type=Point)
        return point.x

    results = h.new_executor([orch]).execute(h.INSTANCE_ID, [], [
        h.orchestrator_started(), h.execution_started("orch"), h.event_raised("p", {"x": 4}),
    ])
    assert h.output_of(results) == 4


def test_cancelled_wait_leaves_the_next_event_buffered():
    def orch(ctx, _):
        abandoned = ctx.wait_for_external_event("e")
        abandoned.cancel()
        return (yield ctx.wait_for_external_event("e"))

    episodes = h.Episodes(h.new_executor([orch]))
    episodes.run(h.execution_started("orch"))
    assert h.output_of(episodes.run(h.event_raised("e", "kept"))) == "kept"


def test_send_event_emits_send_event_action_and_rejects_entity_targets():
    def orch(ctx, _):
        ctx.send_event("target", "Ping", data={"n": 1})
        with pytest.raises(ValueError, match="signal_entity"):
            ctx.send_event("@counter@key", "Ping")
        yield ctx.call_activity("next")

    results = h.new_executor([orch]).execute(h.INSTANCE_ID, [], [
        h.orchestrator_started(), h.execution_started("orch"),
    ])
    send = results.actions[0]
    assert (send.id, send.sendEvent.instance.instanceId, send.sendEvent.name) == (
        1, "target", "Ping")
    assert send.sendEvent.data.value == '{"n": 1}'
    assert results.actions[1].id == 2


def test_suspended_orchestration_buffers_events_until_resumed():
    episodes = h.Episodes(h.new_executor([collect_two]))
    episodes.run(h.execution_started("collect_two"))
    assert episodes.run(h.execution_suspended(), h.event_raised("approval", 1)).actions == []
    assert episodes.run(h.event_raised("approval", 2)).actions == []
    assert h.output_of(episodes.run(h.execution_resumed())) == [1, 2]


def test_suspension_replays_deterministically_from_full_history():
    history = [
        h.orchestrator_started(), h.execution_started("collect_two"),
        h.execution_suspended(), h.event_raised("approval", 1), h.event_raised("approval", 2),
    ]
    executor = h.new_executor([collect_two])
    assert executor.execute(h.INSTANCE_ID, history, [h.orchestrator_started()]).actions == []
    results = executor.execute(h.INSTANCE_ID, history, [
        h.orchestrator_started(), h.execution_resumed(),
    ])
    assert h.output_of(results) == [1, 2]


def test_actions_confirmed_after_a_suspension_still_match():
    def orch(ctx, _):
        yield ctx.call_activity("a")
        return (yield ctx.call_activity("b"))

    past = [
        h.orchestrator_started(), h.execution_started("orch"), h.task_scheduled(1, "a"),
        h.orchestrator_started(), h.task_completed(1), h.execution_suspended(),
        h.task_scheduled(2, "b"),
    ]
    results = h.new_executor([orch]).execute(h.INSTANCE_ID, past, [
        h.orchestrator_started(), h.task_completed(2, "done"), h.execution_resumed(),
    ])
    assert h.output_of(results) == "done"


def test_terminate_completes_as_terminated_even_while_suspended():
    episodes = h.Episodes(h.new_executor([collect_two]))
    episodes.run(h.execution_started("collect_two"))
    results = episodes.run(h.execution_suspended(), h.execution_terminated("stop"))
    assert h.kinds(results) == ["completeOrchestration"]
    complete = h.completion(results)
    assert complete.orchestrationStatus == pb.ORCHESTRATION_STATUS_TERMINATED
    assert complete.result.value == '"stop"'


def test_terminate_drops_actions_made_in_the_same_episode():
    def orch(ctx, _):
        yield ctx.call_activity("a")
        yield ctx.call_activity("b")

    episodes = h.Episodes(h.new_executor([orch]))
    episodes.run(h.execution_started("orch"))
    results = episodes.run(h.task_completed(1), h.execution_terminated())
    assert h.kinds(results) == ["completeOrchestration"]
    assert not h.completion(results).HasField("result")
