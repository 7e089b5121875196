"""Continue-as-new, rewind and versioning."""

from __future__ import annotations

import pytest

from durabletask.internal.engine import (
    VersionFailureStrategy,
    VersioningOptions,
    VersionMatchStrategy,
)
from durabletask.internal.engine.versioning import compare_versions
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from tests.durabletask.engine import histories as h


def counter(ctx, value: int):
    yield ctx.call_activity("tick", input=value)
    ctx.continue_as_new(value + 1, save_events=True, new_version="2.0")


def test_continue_as_new_sends_pending_actions_first_then_carryover_and_new_version():
    def orch(ctx, value: int):
        ctx.call_activity("side_effect")
        ctx.continue_as_new(value + 1, save_events=True, new_version="2.0")
        yield ctx.call_activity("never")

    results = h.new_executor([orch]).execute(h.INSTANCE_ID, [], [
        h.orchestrator_started(), h.execution_started("orch", 1),
        h.event_raised("Later", "x"), h.event_raised("other", 2),
    ])
    assert h.kinds(results) == ["scheduleTask", "completeOrchestration"]
    complete = h.completion(results)
    assert complete.orchestrationStatus == pb.ORCHESTRATION_STATUS_CONTINUED_AS_NEW
    assert complete.result.value == "2"
    assert complete.newVersion.value == "2.0"
    assert [(e.eventRaised.name, e.eventRaised.input.value) for e in complete.carryoverEvents] == [
        ("Later", '"x"'), ("other", "2")]


def test_continue_as_new_without_save_events_drops_buffered_events():
    def orch(ctx, value: int):
        ctx.continue_as_new(value + 1)
        return "ignored"

    results = h.new_executor([orch]).execute(h.INSTANCE_ID, [], [
        h.orchestrator_started(), h.event_raised("e", 1), h.execution_started("orch", 1),
    ])
    complete = h.completion(results)
    assert complete.orchestrationStatus == pb.ORCHESTRATION_STATUS_CONTINUED_AS_NEW
    assert list(complete.carryoverEvents) == []
    assert not complete.HasField("newVersion")


def test_continue_as_new_after_a_task_uses_next_sequence_id():
    episodes = h.Episodes(h.new_executor([counter]))
    episodes.run(h.execution_started("counter", 5))
    results = episodes.run(h.task_completed(1))
    assert results.actions[-1].id == 2
    assert h.completion(results).result.value == "6"


def _failed_history():
    return [
        h.orchestrator_started(), h.execution_started("orch", execution_id="old"),
        h.task_scheduled(1, "ok_step"), h.orchestrator_completed(),
        h.orchestrator_started(), h.task_completed(1, "fine"),
        h.task_scheduled(2, "bad_step"), h.sub_orchestration_created(3, "child", "c1"),
        h.orchestrator_completed(),
        h.orchestrator_started(), h.task_failed(2), h.sub_orchestration_failed(3),
        h.execution_completed(pb.ORCHESTRATION_STATUS_FAILED), h.orchestrator_completed(),
    ]


def test_rewind_returns_single_action_with_failed_work_removed_and_new_execution_id():
    past = _failed_history()
    results = h.new_executor().execute(h.INSTANCE_ID, past, [
        h.orchestrator_started(), h.execution_rewound(),
    ])
    assert len(results.actions) == 1
    action = results.actions[0]
    assert action.id == -1
    assert action.HasField("rewindOrchestration")
    history = list(action.rewindOrchestration.newHistory)
    kinds = [e.WhichOneof("eventType") for e in history]
    assert "taskFailed" not in kinds
    assert "subOrchestrationInstanceFailed" not in kinds
    assert "executionCompleted" not in kinds
    assert "subOrchestrationInstanceCreated" not in kinds
    assert [e.taskScheduled.name for e in history if e.HasField("taskScheduled")] == ["ok_step"]
    new_id = history[1].executionStarted.orchestrationInstance.executionId.value
    assert new_id
    assert new_id != "old"
    assert len(history) == len(past) - 5


def test_rewind_is_deterministic_for_the_same_history():
    past = _failed_history()
    new = [h.orchestrator_started(), h.execution_rewound()]
    executor = h.new_executor()
    assert executor.execute("i", past, new).actions == executor.execute("i", past, new).actions


def test_replay_of_rewound_history_reschedules_the_failed_activity():
    def orch(ctx, _):
        yield ctx.call_activity("ok_step")
        yield ctx.call_activity("bad_step")
        return "recovered"

    executor = h.new_executor([orch])
    rewind = executor.execute(h.INSTANCE_ID, [
        h.orchestrator_started(), h.execution_started("orch"), h.task_scheduled(1, "ok_step"),
        h.orchestrator_started(), h.task_completed(1), h.task_scheduled(2, "bad_step"),
        h.orchestrator_started(), h.task_failed(2), h.execution_completed(),
    ], [h.orchestrator_started(), h.execution_rewound()])
    history = list(rewind.actions[0].rewindOrchestration.newHistory)
    results = executor.execute(h.INSTANCE_ID, history, [h.orchestrator_started()])
    assert [(a.id, a.scheduleTask.name) for a in results.actions] == [(2, "bad_step")]


def versioned(ctx, _):
    return ctx.version


def _run_versioned(options, version):
    executor = h.new_executor([versioned], versioning=options)
    return executor.execute(h.INSTANCE_ID, [], [
        h.orchestrator_started(), h.execution_started("versioned", version=version),
    ])


@pytest.mark.parametrize(
    ("strategy", "version", "accepted"),
    [
        (VersionMatchStrategy.NONE, "9.0", True),
        (VersionMatchStrategy.STRICT, "1.2", True),
        (VersionMatchStrategy.STRICT, "1.1", False),
        (VersionMatchStrategy.CURRENT_OR_OLDER, "1.1", True),
        (VersionMatchStrategy.CURRENT_OR_OLDER, "1.10", False),
        (VersionMatchStrategy.CURRENT_OR_OLDER, "1.2.0", True),
    ],
)
def test_version_match_strategies_accept_or_fail(strategy, version, accepted):
    options = VersioningOptions(
        version="1.2", match_strategy=strategy, failure_strategy=VersionFailureStrategy.FAIL
    )
    results = _run_versioned(options, version)
    if accepted:
        assert h.output_of(results) == version
    else:
        details = h.failure_of(results)
        assert details.errorType == "VersionMismatch"
        assert details.isNonRetriable
        assert version in details.errorMessage
        assert "1.2" in details.errorMessage


def test_version_reject_strategy_abandons_without_actions():
    options = VersioningOptions(
        version="1.0", match_strategy=VersionMatchStrategy.STRICT,
        failure_strategy=VersionFailureStrategy.REJECT,
    )
    results = _run_versioned(options, "2.0")
    assert results.abandon is True
    assert results.actions == []


def test_empty_orchestration_version_uses_default_version():
    options = VersioningOptions(
        version="1.0", default_version="1.0", match_strategy=VersionMatchStrategy.STRICT,
        failure_strategy=VersionFailureStrategy.FAIL,
    )
    assert h.output_of(_run_versioned(options, None)) is None


def test_default_version_is_given_to_sub_orchestrations_without_version():
    def parent(ctx, _):
        yield ctx.call_sub_orchestrator("child")

    executor = h.new_executor([parent], versioning=VersioningOptions(default_version="3.0"))
    results = executor.execute(h.INSTANCE_ID, [], [
        h.orchestrator_started(), h.execution_started("parent"),
    ])
    assert results.actions[0].createSubOrchestration.version.value == "3.0"


@pytest.mark.parametrize(
    ("left", "right", "sign"),
    [("1.10", "1.9", 1), ("1.0", "1", 0), ("2", "10", -1), ("beta", "alpha", 1),
     ("", "1.0", -1), (None, None, 0), ("1.0", "", 1)],
)
def test_compare_versions_is_numeric_for_dotted_numbers(left, right, sign):
    result = compare_versions(left, right)
    assert (result > 0) - (result < 0) == sign
