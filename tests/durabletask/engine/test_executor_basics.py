"""Basic episodes of the replay engine: activities, outputs, failures, context values."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from durabletask import task
from durabletask.internal.engine import OrchestrationExecutor, Registry
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from tests.durabletask.engine import histories as h


def say_hello(ctx: task.ActivityContext, name: str) -> str:
    return f"Hello, {name}!"


def hello_sequence(ctx: task.OrchestrationContext, _):
    results = []
    for city in ("Tokyo", "Seattle"):
        results.append((yield ctx.call_activity(say_hello, input=city)))
    return results


def test_generator_orchestrator_schedules_first_activity_with_sequence_id_1():
    executor = h.new_executor([hello_sequence], [say_hello])
    results = executor.execute(h.INSTANCE_ID, [], [
        h.orchestrator_started(), h.execution_started("hello_sequence"),
    ])
    assert h.kinds(results) == ["scheduleTask"]
    action = results.actions[0]
    assert action.id == 1
    assert action.scheduleTask.name == "say_hello"
    assert action.scheduleTask.input.value == '"Tokyo"'


def test_generator_orchestrator_completes_after_replaying_all_results():
    episodes = h.Episodes(h.new_executor([hello_sequence], [say_hello]))
    episodes.run(h.execution_started("hello_sequence"))
    second = episodes.run(h.task_completed(1, "Hello, Tokyo!"))
    assert second.actions[0].id == 2
    assert second.actions[0].scheduleTask.input.value == '"Seattle"'
    final = episodes.run(h.task_completed(2, "Hello, Seattle!"))
    assert h.output_of(final) == ["Hello, Tokyo!", "Hello, Seattle!"]
    assert final.actions[-1].id == 3


def test_plain_function_orchestrator_completes_at_once():
    def plain(ctx, value: int):
        return value * 2

    results = h.new_executor([plain]).execute(h.INSTANCE_ID, [], [
        h.orchestrator_started(), h.execution_started("plain", 21),
    ])
    assert h.output_of(results) == 42
    assert results.actions[0].id == 1


def test_orchestrator_with_only_context_parameter_is_called_without_input():
    def no_input(ctx):
        return ctx.instance_id

    results = h.new_executor([no_input]).execute("inst-9", [], [
        h.orchestrator_started(), h.execution_started("no_input", instance_id="inst-9"),
    ])
    assert h.output_of(results) == "inst-9"


@dataclass
class Order:
    item: str
    quantity: int


def test_orchestrator_input_is_converted_to_the_annotated_dataclass():
    def typed(ctx, order: Order):
        assert isinstance(order, Order)
        return order.quantity

    results = h.new_executor([typed]).execute(h.INSTANCE_ID, [], [
        h.orchestrator_started(), h.execution_started("typed", {"item": "x", "quantity": 3}),
    ])
    assert h.output_of(results) == 3


def test_activity_result_is_converted_to_return_type():
    def orch(ctx, _):
        order = yield ctx.call_activity("get_order", return_type=Order)
        return type(order).__name__

    episodes = h.Episodes(h.new_executor([orch]))
    episodes.run(h.execution_started("orch"))
    assert h.output_of(episodes.run(h.task_completed(1, {"item": "a", "quantity": 1}))) == "Order"


def test_activity_tags_are_sent_on_schedule_task():
    def orch(ctx, _):
        yield ctx.call_activity("tagged", tags={"team": "blue"})

    results = h.new_executor([orch]).execute(h.INSTANCE_ID, [], [
        h.orchestrator_started(), h.execution_started("orch"),
    ])
    assert dict(results.actions[0].scheduleTask.tags) == {"team": "blue"}


def test_unhandled_task_failure_fails_orchestration_with_nested_inner_failure():
    def orch(ctx, _):
        yield ctx.call_activity("flaky")

    episodes = h.Episodes(h.new_executor([orch]))
    episodes.run(h.execution_started("orch"))
    results = episodes.run(h.task_failed(1, "disk full"))
    assert len(results.actions) == 1
    details = h.failure_of(results)
    assert details.errorType == "durabletask.task.TaskFailedError"
    assert "disk full" in details.errorMessage
    assert details.errorMessage == "abc123: Activity task #1 failed: disk full"  # 1.12.0 text
    assert details.innerFailure.errorType == "builtins.ValueError"
    assert details.innerFailure.errorMessage == "disk full"


def test_caught_task_failure_lets_orchestrator_continue():
    def orch(ctx, _):
        try:
            yield ctx.call_activity("flaky")
        except task.TaskFailedError as error:
            return error.details.message

    episodes = h.Episodes(h.new_executor([orch]))
    episodes.run(h.execution_started("orch"))
    assert h.output_of(episodes.run(h.task_failed(1, "nope"))) == "nope"


def test_orchestrator_exception_fails_with_qualified_error_type_and_sends_pending_actions():
    # 1.12.0's executor keeps the actions made before the exception (it returns
    # [scheduleTask, completeOrchestration] here): a signal an orchestrator sends just
    # before failing, e.g. to record its failure on an entity, must reach the entity.
    def orch(ctx, _):
        ctx.call_activity("sent_anyway")
        raise KeyError("missing")

    results = h.new_executor([orch]).execute(h.INSTANCE_ID, [], [
        h.orchestrator_started(), h.execution_started("orch"),
    ])
    assert h.kinds(results) == ["scheduleTask", "completeOrchestration"]
    details = h.failure_of(results)
    assert details.errorType == "builtins.KeyError"
    assert details.HasField("stackTrace")


def test_unknown_orchestrator_fails_naming_missing_and_registered_names():
    def known(ctx, _):
        return None

    results = h.new_executor([known]).execute(h.INSTANCE_ID, [], [
        h.orchestrator_started(), h.execution_started("missing_orch"),
    ])
    details = h.failure_of(results)
    assert details.errorType.endswith("OrchestratorNotRegisteredError")
    assert "'missing_orch'" in details.errorMessage
    assert "'known'" in details.errorMessage


def test_empty_new_events_fail_with_orchestration_state_error_and_never_raise():
    results = h.new_executor().execute(h.INSTANCE_ID, [h.execution_started("x")], [])
    details = h.failure_of(results)
    assert details.errorType == "durabletask.task.OrchestrationStateError"
    assert results.actions[0].id == -1


def test_history_without_execution_started_fails_with_orchestration_state_error():
    results = h.new_executor().execute(h.INSTANCE_ID, [], [h.orchestrator_started()])
    assert h.failure_of(results).errorType == "durabletask.task.OrchestrationStateError"


def test_unserialisable_output_fails_with_json_encode_output_exception():
    def orch(ctx, _):
        return object()

    results = h.new_executor([orch]).execute(h.INSTANCE_ID, [], [
        h.orchestrator_started(), h.execution_started("orch"),
    ])
    details = h.failure_of(results)
    assert details.errorType.endswith("JsonEncodeOutputException")
    assert "could not be encoded" in details.errorMessage


def test_yielding_a_non_task_fails_with_type_error():
    def orch(ctx, _):
        yield 5

    results = h.new_executor([orch]).execute(h.INSTANCE_ID, [], [
        h.orchestrator_started(), h.execution_started("orch"),
    ])
    assert "yielded int" in h.failure_of(results).errorMessage


def test_custom_status_is_encoded_and_returned():
    def orch(ctx, _):
        ctx.set_custom_status({"stage": 1})
        yield ctx.call_activity("work")

    results = h.new_executor([orch]).execute(h.INSTANCE_ID, [], [
        h.orchestrator_started(), h.execution_started("orch"),
    ])
    assert results.encoded_custom_status == '{"stage": 1}'


def test_context_exposes_instance_parent_version_and_orchestration_clock():
    seen = {}

    def orch(ctx, _):
        seen.update(
            instance=ctx.instance_id, parent=ctx.parent_instance_id, version=ctx.version,
            now=ctx.current_utc_datetime,
        )
        return None

    h.new_executor([orch]).execute("child", [], [
        h.orchestrator_started(h.after(5)),
        h.execution_started("orch", instance_id="child", version="2.0", parent_instance_id="p"),
    ])
    assert seen == {"instance": "child", "parent": "p", "version": "2.0", "now": h.after(5)}
    assert seen["now"].tzinfo is None


def test_current_utc_datetime_follows_the_latest_orchestrator_started_event():
    times = []

    def orch(ctx, _):
        times.append(ctx.current_utc_datetime)
        yield ctx.call_activity("a")
        times.append(ctx.current_utc_datetime)

    episodes = h.Episodes(h.new_executor([orch]))
    episodes.run(h.execution_started("orch"), at=h.after(0))
    times.clear()
    episodes.run(h.task_completed(1), at=h.after(60))
    assert times == [h.after(0), h.after(60)]


def test_new_uuid_is_deterministic_and_matches_the_reference_formula():
    def orch(ctx, _):
        return [ctx.new_uuid(), ctx.new_uuid()]

    def run():
        return h.output_of(h.new_executor([orch]).execute(h.INSTANCE_ID, [], [
            h.orchestrator_started(), h.execution_started("orch"),
        ]))

    namespace = uuid.uuid5(uuid.NAMESPACE_OID, "9e952958-5e33-4daf-827f-2fa12937b875")
    stamp = h.T0.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    expected = [str(uuid.uuid5(namespace, f"{h.INSTANCE_ID}_{stamp}_{n}")) for n in (0, 1)]
    assert run() == expected == run()


def test_is_replaying_is_true_for_past_events_and_false_for_new_ones():
    observed = []

    def orch(ctx, _):
        observed.append(ctx.is_replaying)
        yield ctx.call_activity("a")
        observed.append(ctx.is_replaying)

    episodes = h.Episodes(h.new_executor([orch]))
    episodes.run(h.execution_started("orch"))
    observed.clear()
    episodes.run(h.task_completed(1))
    assert observed == [True, False]


def test_replay_safe_logger_logs_only_new_work(caplog):
    def orch(ctx, _):
        log = ctx.create_replay_safe_logger(logging.getLogger("durabletask.test.orch"))
        log.info("step one")
        yield ctx.call_activity("a")
        log.info("step two")

    episodes = h.Episodes(h.new_executor([orch]))
    episodes.run(h.execution_started("orch"))
    with caplog.at_level(logging.INFO, logger="durabletask.test.orch"):
        episodes.run(h.task_completed(1))
    assert [r.getMessage() for r in caplog.records] == ["step two"]


def test_executor_accepts_registry_built_by_hand_with_custom_names():
    registry = Registry()
    registry.add_orchestrator(lambda ctx, _: "ok", name="named")
    results = OrchestrationExecutor(registry).execute(h.INSTANCE_ID, [], [
        h.orchestrator_started(), h.execution_started("named"),
    ])
    assert h.output_of(results) == "ok"
    assert results.abandon is False


def test_complete_action_status_is_completed_with_no_result_for_none():
    def orch(ctx, _):
        return None

    results = h.new_executor([orch]).execute(h.INSTANCE_ID, [], [
        h.orchestrator_started(), h.execution_started("orch"),
    ])
    complete = h.completion(results)
    assert complete.orchestrationStatus == pb.ORCHESTRATION_STATUS_COMPLETED
    assert not complete.HasField("result")
