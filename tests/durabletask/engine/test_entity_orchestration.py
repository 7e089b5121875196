"""Orchestration-side entities in the pure engine: shapes, answers, rules, replay, faults.

The action shapes themselves are compared with the official executor's in
``test_entity_golden.py``; these tests pin what golden recordings cannot show.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from durabletask import task
from durabletask.entities import EntityInstanceId, EntityLock
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from tests.durabletask.engine import entity_histories as eh
from tests.durabletask.engine import histories as h

A = EntityInstanceId("counter", "a")
B = EntityInstanceId("counter", "b")


@dataclass
class Total:
    value: int


def calls_twice(ctx: task.OrchestrationContext, _):
    first = yield ctx.call_entity(A, "get", return_type=Total)
    second = yield ctx.call_entity("@counter@b", "get")  # the string form is accepted
    return [first.value, second]


def test_request_ids_are_the_official_deterministic_uuids():
    results = eh.EntityEpisodes(h.new_executor([calls_twice])).run(
        h.execution_started("calls_twice"))

    called = results.actions[0].sendEntityMessage.entityOperationCalled
    # Official derivation: uuid5(uuid5(OID, "9e95..."), "<instance>_<orchestration time>_<n>").
    namespace = uuid.uuid5(uuid.NAMESPACE_OID, "9e952958-5e33-4daf-827f-2fa12937b875")
    expected = uuid.uuid5(namespace, f"{h.INSTANCE_ID}_2024-01-01T12:00:00.000000Z_0")
    assert called.requestId == str(expected)
    assert not called.HasField("scheduledTime")
    assert not called.HasField("parentExecutionId")


def test_call_results_arrive_by_request_id_with_return_types_and_replay():
    episodes = eh.EntityEpisodes(h.new_executor([calls_twice]))
    first = episodes.run(h.execution_started("calls_twice"))
    second = episodes.run(eh.operation_completed(eh.call_request_id(first, A), {"value": 4}))
    third = episodes.run(eh.operation_completed(eh.call_request_id(second, B), 9))

    assert eh.messages(second) == [(2, "entityOperationCalled", "@counter@b")]
    assert h.output_of(third) == [4, 9]


def test_a_duplicate_or_unknown_answer_is_ignored_not_fatal():
    episodes = eh.EntityEpisodes(h.new_executor([calls_twice]))
    first = episodes.run(h.execution_started("calls_twice"))
    answer = eh.operation_completed(eh.call_request_id(first, A), {"value": 1})
    second = episodes.run(answer)

    again = episodes.run(answer, eh.operation_failed("no-such-request"))

    assert eh.messages(second) == [(2, "entityOperationCalled", "@counter@b")]
    assert again.actions == []  # still waiting for @counter@b, and not failed


def test_signal_time_naive_utc_and_aware_give_the_same_scheduled_time():
    def signals(ctx: task.OrchestrationContext, _):
        ctx.signal_entity(A, "ping", signal_time=datetime(2030, 1, 1, 12, 0))
        ctx.signal_entity(A, "ping", signal_time=datetime(
            2030, 1, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))))
        ctx.signal_entity(A, "ping")

    results = h.new_executor([signals]).execute(
        h.INSTANCE_ID, [], [h.orchestrator_started(), h.execution_started("signals")])

    sent = [a.sendEntityMessage.entityOperationSignaled for a in results.actions[:3]]
    assert sent[0].scheduledTime == sent[1].scheduledTime
    assert sent[0].scheduledTime.ToDatetime() == datetime(2030, 1, 1, 12, 0)
    assert not sent[2].HasField("scheduledTime")
    assert h.completion(results).orchestrationStatus == pb.ORCHESTRATION_STATUS_COMPLETED


def test_a_malformed_entity_id_string_fails_with_the_expected_form():
    def bad(ctx: task.OrchestrationContext, _):
        yield ctx.call_entity("counter-a", "get")

    results = h.new_executor([bad]).execute(
        h.INSTANCE_ID, [], [h.orchestrator_started(), h.execution_started("bad")])

    details = h.failure_of(results)
    assert details.errorType == "builtins.ValueError"
    assert "'@name@key'" in details.errorMessage


def locks_then_waits(ctx: task.OrchestrationContext, _):
    lock = yield ctx.lock_entities([B, A])
    assert isinstance(lock, EntityLock)
    assert ctx.is_inside_critical_section
    with lock:
        yield ctx.wait_for_external_event("go")
    assert not ctx.is_inside_critical_section
    return "done"


def test_terminating_inside_a_critical_section_unlocks_its_entities():
    episodes = eh.EntityEpisodes(h.new_executor([locks_then_waits]))
    first = episodes.run(h.execution_started("locks_then_waits"))
    episodes.run(eh.lock_granted(eh.lock_section_id(first)))

    terminated = episodes.run(h.execution_terminated("stop"))

    assert eh.messages(terminated) == [
        (2, "entityUnlockSent", "@counter@a"), (3, "entityUnlockSent", "@counter@b"),
    ]
    assert h.completion(terminated).orchestrationStatus == pb.ORCHESTRATION_STATUS_TERMINATED


def test_failing_while_waiting_for_the_locks_unlocks_them_in_lock_set_order():
    def impatient(ctx: task.OrchestrationContext, _):
        ctx.lock_entities([B, A])
        yield ctx.create_timer(timedelta(seconds=1))
        raise TimeoutError("gave up")

    episodes = eh.EntityEpisodes(h.new_executor([impatient]))
    episodes.run(h.execution_started("impatient"))
    failed = episodes.run(h.timer_fired(2, h.after(1)))

    assert eh.messages(failed) == [
        (3, "entityUnlockSent", "@counter@a"), (4, "entityUnlockSent", "@counter@b"),
    ]
    assert h.failure_of(failed).errorType == "builtins.TimeoutError"


def test_answers_are_held_while_suspended():
    episodes = eh.EntityEpisodes(h.new_executor([calls_twice]))
    first = episodes.run(h.execution_started("calls_twice"))
    answer = eh.operation_completed(eh.call_request_id(first, A), {"value": 1})

    held = episodes.run(h.execution_suspended(), answer)
    resumed = episodes.run(h.execution_resumed())

    assert held.actions == []
    assert eh.messages(resumed) == [(2, "entityOperationCalled", "@counter@b")]


def test_a_cached_orchestration_matches_answers_without_seeing_confirmations():
    # With history streaming the sidecar never re-sends confirmations to a cached runner.
    executor = h.new_executor([calls_twice])
    runner = executor.new_runner(h.INSTANCE_ID)
    first = executor.run_episode(runner, [], [h.orchestrator_started(),
                                              h.execution_started("calls_twice")])
    runner.context.clear_pending_actions()  # what the cache does after a committed episode
    second = executor.run_episode(runner, [], [h.orchestrator_started(), eh.operation_completed(
        eh.call_request_id(first, A), {"value": 2})])
    runner.context.clear_pending_actions()
    done = executor.run_episode(runner, [], [h.orchestrator_started(), eh.operation_completed(
        eh.call_request_id(second, B), 3)])

    assert h.output_of(done) == [2, 3]


@pytest.mark.parametrize(("history_kind", "code_kind"), [
    ("entityOperationSignaled", "call"),
    ("entityOperationCalled", "activity"),
])
def test_replaying_a_different_entity_action_is_nondeterministic(history_kind, code_kind):
    def changed(ctx: task.OrchestrationContext, _):
        if code_kind == "call":
            yield ctx.call_entity(A, "get")
        else:
            yield ctx.call_activity("get")

    recorded = pb.HistoryEvent(eventId=1)
    getattr(recorded, history_kind).operation = "get"
    getattr(recorded, history_kind).targetInstanceId.value = str(A)
    results = h.new_executor([changed]).execute(h.INSTANCE_ID, [
        h.orchestrator_started(), h.execution_started("changed"), recorded,
    ], [h.orchestrator_started()])

    details = h.failure_of(results)
    assert details.errorType == "durabletask.task.NonDeterminismError"
    assert f"({history_kind}, id 1)" in details.errorMessage


def test_replaying_a_call_to_another_entity_is_nondeterministic():
    recorded = pb.HistoryEvent(eventId=1)
    recorded.entityOperationCalled.operation = "get"
    recorded.entityOperationCalled.targetInstanceId.value = str(B)

    results = h.new_executor([calls_twice]).execute(h.INSTANCE_ID, [
        h.orchestrator_started(), h.execution_started("calls_twice"), recorded,
    ], [h.orchestrator_started()])

    message = h.failure_of(results).errorMessage
    assert "expects call_entity 'get on @counter@b'" in message
    assert "produced call_entity 'get on @counter@a'" in message


# ----- Durable Functions shape: eventSent + eventRaised named by the message id ----------


def _event_sent(action: pb.OrchestratorAction, message_id: str) -> pb.HistoryEvent:
    message = action.sendEntityMessage
    kind = message.WhichOneof("EntityMessageType")
    inner = getattr(message, kind)
    target = inner.lockSet[0] if kind == "entityLockRequested" else inner.targetInstanceId.value
    return h.event_sent(action.id, target, "op", {"id": message_id})


def test_functions_style_call_results_and_failures_are_accepted():
    def two_calls(ctx: task.OrchestrationContext, _):
        value = yield ctx.call_entity(A, "get")
        try:
            yield ctx.call_entity(A, "boom")
        except task.TaskFailedError as error:
            return [value, error.details.message, error.details.inner_failure.error_type]

    executor = h.new_executor([two_calls])
    start = [h.orchestrator_started(), h.execution_started("two_calls")]
    first = executor.execute(h.INSTANCE_ID, [], start).actions[0]
    history = [*start, _event_sent(first, "m1")]
    reply = h.event_raised("m1", {"result": json.dumps(5)})
    second = executor.execute(h.INSTANCE_ID, history, [h.orchestrator_started(), reply])
    history += [h.orchestrator_started(), reply, _event_sent(second.actions[0], "m2")]
    failure = h.event_raised("m2", {"exceptionType": "System.Exception",
                                    "result": json.dumps("it broke")})
    done = executor.execute(h.INSTANCE_ID, history, [h.orchestrator_started(), failure])

    assert h.output_of(done) == [
        5, "Operation 'boom' on entity '@counter@a' failed with error: it broke",
        "System.Exception",
    ]


def test_functions_style_lock_grants_are_accepted():
    executor = h.new_executor([locks_then_waits])
    start = [h.orchestrator_started(), h.execution_started("locks_then_waits")]
    lock = executor.execute(h.INSTANCE_ID, [], start).actions[0]
    section = lock.sendEntityMessage.entityLockRequested.criticalSectionId
    history = [*start, _event_sent(lock, section)]
    granted = [h.orchestrator_started(), h.event_raised(section, {"result": None})]
    after_grant = executor.execute(h.INSTANCE_ID, history, granted)
    history += granted
    done = executor.execute(h.INSTANCE_ID, history, [h.orchestrator_started(),
                                                     h.event_raised("go")])

    assert after_grant.actions == []
    assert [m[1] for m in eh.messages(done)] == ["entityUnlockSent", "entityUnlockSent"]
    assert h.output_of(done) == "done"


def test_an_event_sent_naming_another_target_than_the_entity_message_is_nondeterministic():
    executor = h.new_executor([calls_twice])
    start = [h.orchestrator_started(), h.execution_started("calls_twice")]
    wrong = h.event_sent(1, "@counter@zzz", "op", {"id": "m1"})

    results = executor.execute(h.INSTANCE_ID, [*start, wrong], [h.orchestrator_started()])

    assert h.failure_of(results).errorType == "durabletask.task.NonDeterminismError"
