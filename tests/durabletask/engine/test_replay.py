"""Replay matching: nondeterminism detection, stale results and odd history shapes."""

from __future__ import annotations

from durabletask import task
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from tests.durabletask.engine import histories as h


def two_steps(ctx, _):
    first = yield ctx.call_activity("step_one")
    second = yield ctx.call_activity("step_two")
    return [first, second]


def test_replay_with_matching_history_emits_only_new_actions():
    past = [
        h.orchestrator_started(), h.execution_started("two_steps"),
        h.task_scheduled(1, "step_one"), h.orchestrator_completed(),
    ]
    results = h.new_executor([two_steps]).execute(h.INSTANCE_ID, past, [
        h.orchestrator_started(), h.task_completed(1, "a"),
    ])
    assert [(a.id, a.scheduleTask.name) for a in results.actions] == [(2, "step_two")]


def test_replay_fails_with_nondeterminism_error_when_activity_name_differs():
    past = [h.orchestrator_started(), h.execution_started("two_steps"),
            h.task_scheduled(1, "other_activity")]
    results = h.new_executor([two_steps]).execute(h.INSTANCE_ID, past, [
        h.orchestrator_started(), h.task_completed(1, "a"),
    ])
    details = h.failure_of(results)
    assert details.errorType == "durabletask.task.NonDeterminismError"
    assert "call_activity 'other_activity' (scheduleTask, id 1)" in details.errorMessage
    assert "call_activity 'step_one' (scheduleTask, id 1)" in details.errorMessage
    assert len(results.actions) == 1


def test_replay_fails_with_nondeterminism_error_when_action_kind_differs():
    past = [h.orchestrator_started(), h.execution_started("two_steps"),
            h.timer_created(1, h.after(10))]
    results = h.new_executor([two_steps]).execute(h.INSTANCE_ID, past, [
        h.orchestrator_started(),
    ])
    message = h.failure_of(results).errorMessage
    assert "expects create_timer (createTimer, id 1)" in message
    assert "produced call_activity 'step_one' (scheduleTask, id 1)" in message


def test_replay_fails_when_history_has_an_action_the_code_never_made():
    def one_step(ctx, _):
        return (yield ctx.call_activity("step_one"))

    past = [h.orchestrator_started(), h.execution_started("one_step"),
            h.task_scheduled(1, "step_one"), h.task_scheduled(2, "extra")]
    results = h.new_executor([one_step]).execute(h.INSTANCE_ID, past, [h.orchestrator_started()])
    message = h.failure_of(results).errorMessage
    assert "call_activity 'extra' (scheduleTask, id 2)" in message
    assert "no action with id 2" in message


def test_nondeterminism_cannot_be_swallowed_by_orchestrator_code():
    def swallowing(ctx, _):
        try:
            yield ctx.call_activity("step_one")
        except Exception:
            return "swallowed"

    past = [h.orchestrator_started(), h.execution_started("swallowing"),
            h.task_scheduled(1, "renamed")]
    results = h.new_executor([swallowing]).execute(h.INSTANCE_ID, past, [
        h.orchestrator_started(), h.task_completed(1),
    ])
    assert h.failure_of(results).errorType == "durabletask.task.NonDeterminismError"


def test_duplicate_and_unknown_results_are_ignored():
    past = [h.orchestrator_started(), h.execution_started("two_steps"),
            h.task_scheduled(1, "step_one"), h.task_completed(1, "a")]
    results = h.new_executor([two_steps]).execute(h.INSTANCE_ID, past, [
        h.orchestrator_started(), h.task_completed(1, "again"), h.task_completed(99, "x"),
        h.timer_fired(42, h.T0),
    ])
    assert [(a.id, a.scheduleTask.name) for a in results.actions] == [(2, "step_two")]


def test_history_without_orchestrator_completed_and_with_zero_timestamps_replays():
    past = [h.orchestrator_started(), h.execution_started("two_steps"),
            h.task_scheduled(1, "step_one")]
    completed = h.task_completed(1, "a")
    assert not completed.HasField("timestamp")
    results = h.new_executor([two_steps]).execute(h.INSTANCE_ID, past, [
        h.orchestrator_started(h.after(3)), completed, h.task_scheduled(2, "step_two"),
        h.task_completed(2, "b"),
    ])
    assert h.output_of(results) == ["a", "b"]


def test_events_before_execution_started_are_tolerated():
    def waiter(ctx, _):
        return (yield ctx.wait_for_external_event("go"))

    results = h.new_executor([waiter]).execute(h.INSTANCE_ID, [], [
        h.event_raised("go", 5), h.task_completed(7, "stray"), h.orchestrator_started(),
        h.execution_started("waiter"),
    ])
    assert h.output_of(results) == 5


def test_orchestrator_started_with_zero_timestamp_keeps_previous_clock():
    times = []

    def orch(ctx, _):
        times.append(ctx.current_utc_datetime)
        yield ctx.call_activity("a")
        times.append(ctx.current_utc_datetime)

    h.new_executor([orch]).execute(h.INSTANCE_ID, [
        h.orchestrator_started(h.after(1)), h.execution_started("orch"),
        h.task_scheduled(1, "a"),
    ], [h.orchestrator_started(None), h.task_completed(1)])
    assert times == [h.after(1), h.after(1)]


def test_unrelated_history_events_are_ignored():
    generic = pb.HistoryEvent(eventId=-1)
    generic.genericEvent.data.value = "note"
    results = h.new_executor([two_steps]).execute(h.INSTANCE_ID, [], [
        h.orchestrator_started(), generic, h.execution_started("two_steps"),
    ])
    assert h.kinds(results) == ["scheduleTask"]


def test_fire_and_forget_actions_are_sent_with_the_completion():
    def orch(ctx, _):
        ctx.call_activity("background")
        ctx.send_event("other", "ping", data=1)
        return "done"

    results = h.new_executor([orch]).execute(h.INSTANCE_ID, [], [
        h.orchestrator_started(), h.execution_started("orch"),
    ])
    assert h.kinds(results) == ["scheduleTask", "sendEvent", "completeOrchestration"]
    assert [a.id for a in results.actions] == [1, 2, 3]


def test_confirmations_after_completion_still_match_pending_actions():
    def orch(ctx, _):
        ctx.send_event("other", "ping")
        return "done"

    past = [h.orchestrator_started(), h.execution_started("orch"),
            h.event_sent(1, "other", "ping")]
    results = h.new_executor([orch]).execute(h.INSTANCE_ID, past, [h.orchestrator_started()])
    assert h.kinds(results) == ["completeOrchestration"]
    assert h.output_of(results) == "done"


def test_sub_orchestrator_default_instance_id_and_result():
    def child(ctx, _):
        return None

    def parent(ctx, _):
        ctx.call_activity("first")
        return (yield ctx.call_sub_orchestrator(child, input=3, version="1.1"))

    executor = h.new_executor([parent, child])
    episodes = h.Episodes(executor, "parent-id")
    results = episodes.run(h.execution_started("parent", instance_id="parent-id"))
    create = results.actions[1].createSubOrchestration
    assert (results.actions[1].id, create.name, create.instanceId) == (2, "child", "parent-id:0002")
    assert create.input.value == "3"
    assert create.version.value == "1.1"
    assert h.output_of(episodes.run(h.sub_orchestration_completed(2, "ok"))) == "ok"


def test_sub_orchestrator_failure_surfaces_as_task_failed_error():
    def parent(ctx, _):
        try:
            yield ctx.call_sub_orchestrator("child", instance_id="fixed")
        except task.TaskFailedError as error:
            return error.details.message

    episodes = h.Episodes(h.new_executor([parent]))
    assert episodes.run(h.execution_started("parent")).actions[0].createSubOrchestration \
        .instanceId == "fixed"
    assert h.output_of(episodes.run(h.sub_orchestration_failed(1, "child broke"))) == \
        "child broke"


def test_when_any_and_when_all_drive_fan_out_fan_in():
    def fan(ctx, _):
        tasks = [ctx.call_activity("work", input=i) for i in range(3)]
        done = yield task.when_all(tasks)
        timer = ctx.create_timer(h.after(100))
        winner = yield task.when_any([ctx.wait_for_external_event("go"), timer])
        timer.cancel()
        return [done, winner is timer]

    episodes = h.Episodes(h.new_executor([fan]))
    assert [a.id for a in episodes.run(h.execution_started("fan")).actions] == [1, 2, 3]
    episodes.run(h.task_completed(3, 30), h.task_completed(1, 10))
    results = episodes.run(h.task_completed(2, 20))
    assert h.kinds(results) == ["createTimer"]
    final = episodes.run(h.event_raised("GO"))
    assert h.output_of(final) == [[10, 20, 30], False]


def test_runner_accepts_more_events_incrementally_like_a_cached_orchestration():
    runner = h.new_executor([two_steps]).new_runner(h.INSTANCE_ID)
    runner.process([h.orchestrator_started(), h.execution_started("two_steps")], replaying=False)
    first = runner.results()
    assert [a.scheduleTask.name for a in first.actions] == ["step_one"]
    runner.process(
        [*h.confirmations(first.actions), h.orchestrator_completed(), h.orchestrator_started(),
         h.task_completed(1, "a")],
        replaying=False,
    )
    assert [(a.id, a.scheduleTask.name) for a in runner.results().actions] == [(2, "step_two")]
