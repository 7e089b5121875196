"""The user-facing task API of durabletask.task, without any engine."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest

from durabletask import task
from durabletask.internal.proto import orchestrator_service_pb2 as pb


def test_completable_task_get_result_raises_value_error_when_incomplete():
    pending: task.CompletableTask[int] = task.CompletableTask()
    with pytest.raises(ValueError, match="not completed"):
        pending.get_result()
    pending.complete(3)
    assert pending.result == 3
    assert pending.is_complete
    assert not pending.is_failed


def test_completable_task_fail_exposes_task_failed_error_with_details():
    pending: task.CompletableTask[int] = task.CompletableTask()
    pending.fail("it broke", pb.TaskFailureDetails(errorType="builtins.KeyError", errorMessage="k"))
    assert pending.is_failed
    error = pending.get_exception()
    assert isinstance(error, task.TaskFailedError)
    assert error.details.error_type == "builtins.KeyError"
    with pytest.raises(task.TaskFailedError, match="it broke"):
        pending.get_result()


def test_completable_task_complete_twice_raises():
    pending: task.CompletableTask[int] = task.CompletableTask()
    pending.complete(1)
    with pytest.raises(ValueError, match="already completed"):
        pending.complete(2)


def test_cancellable_task_cancel_runs_handler_and_result_raises_cancelled():
    calls: list[str] = []
    waiter: task.CancellableTask[int] = task.CancellableTask()
    waiter.set_cancel_handler(lambda: calls.append("cancelled"))
    assert waiter.cancel() is True
    assert waiter.is_cancelled
    assert waiter.is_complete
    assert not waiter.is_failed
    assert calls == ["cancelled"]
    with pytest.raises(task.TaskCancelledError):
        waiter.get_result()
    assert waiter.cancel() is False


def test_cancellable_task_cancel_returns_false_when_already_complete():
    waiter: task.CancellableTask[int] = task.CancellableTask()
    waiter.complete(5)
    assert waiter.cancel() is False
    assert waiter.get_result() == 5


def test_when_all_keeps_input_order_and_waits_for_every_child():
    first: task.CompletableTask[int] = task.CompletableTask()
    second: task.CompletableTask[int] = task.CompletableTask()
    combined = task.when_all([first, second])
    second.complete(2)
    assert not combined.is_complete
    assert combined.pending_tasks == 1
    assert combined.get_completed_tasks() == 1
    first.complete(1)
    assert combined.get_result() == [1, 2]


def test_when_all_raises_first_failure_only_after_all_children_complete():
    first: task.CompletableTask[int] = task.CompletableTask()
    second: task.CompletableTask[int] = task.CompletableTask()
    combined = task.when_all([first, second])
    first.fail("first failed", ValueError("x"))
    assert not combined.is_complete
    second.complete(2)
    assert combined.is_failed
    with pytest.raises(task.TaskFailedError, match="first failed"):
        combined.get_result()


def test_when_all_of_empty_list_completes_with_empty_list():
    assert task.when_all([]).get_result() == []


def test_when_all_with_cancelled_child_raises_task_cancelled_error():
    waiter: task.CancellableTask[int] = task.CancellableTask()
    done: task.CompletableTask[int] = task.CompletableTask()
    done.complete(1)
    combined = task.when_all([waiter, done])
    waiter.cancel()
    with pytest.raises(task.TaskCancelledError):
        combined.get_result()


def test_when_any_result_is_the_winning_task_and_losers_are_not_cancelled():
    first: task.CancellableTask[int] = task.CancellableTask()
    second: task.CompletableTask[int] = task.CompletableTask()
    either = task.when_any([first, second])
    second.complete(7)
    assert either.get_result() is second
    assert not first.is_cancelled
    assert not first.is_complete
    first.complete(1)
    assert either.get_result() is second


def test_when_any_rejects_empty_list():
    with pytest.raises(ValueError, match="at least one task"):
        task.when_any([])


def test_shared_task_completes_every_composite_that_contains_it():
    shared: task.CompletableTask[int] = task.CompletableTask()
    all_of = task.when_all([shared])
    any_of = task.when_any([shared])
    shared.complete(4)
    assert all_of.get_result() == [4]
    assert any_of.get_result() is shared


def test_nested_composites_complete_from_the_inside_out():
    leaf: task.CompletableTask[int] = task.CompletableTask()
    outer = task.when_all([task.when_all([leaf])])
    leaf.complete(1)
    assert outer.get_result() == [[1]]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"first_retry_interval": timedelta(seconds=-1)}, "first_retry_interval"),
        ({"max_number_of_attempts": 0}, "max_number_of_attempts"),
        ({"backoff_coefficient": 0.5}, "backoff_coefficient"),
        ({"max_retry_interval": timedelta(seconds=-1)}, "max_retry_interval"),
        ({"retry_timeout": timedelta(seconds=-1)}, "retry_timeout"),
    ],
)
def test_retry_policy_rejects_out_of_range_values(kwargs, field):
    params = {"first_retry_interval": timedelta(seconds=1), "max_number_of_attempts": 3}
    params.update(kwargs)
    with pytest.raises(ValueError, match=field):
        task.RetryPolicy(**params)


def test_retry_policy_properties_are_read_only():
    policy = task.RetryPolicy(first_retry_interval=timedelta(seconds=1), max_number_of_attempts=2)
    assert policy.backoff_coefficient == 1.0
    assert policy.retry_timeout is None
    with pytest.raises(AttributeError):
        policy.max_number_of_attempts = 5  # type: ignore[misc]


def test_retryable_task_backoff_grows_and_is_capped():
    policy = task.RetryPolicy(
        first_retry_interval=timedelta(seconds=1), max_number_of_attempts=5,
        backoff_coefficient=2.0, max_retry_interval=timedelta(seconds=3),
    )
    retry: task.RetryableTask[int] = task.RetryableTask(
        policy, pb.OrchestratorAction(id=1), datetime(2024, 1, 1), False
    )
    delays = []
    for _ in range(4):
        delays.append(retry.compute_next_delay())
        retry.increment_attempt_count()
    assert delays == [timedelta(seconds=s) for s in (1, 2, 3, 3)]
    assert retry.compute_next_delay() is None


def test_retryable_task_timeout_uses_the_given_clock():
    start = datetime(2024, 1, 1)
    now = [start]
    policy = task.RetryPolicy(
        first_retry_interval=timedelta(seconds=1), max_number_of_attempts=10,
        retry_timeout=timedelta(minutes=1),
    )
    retry: task.RetryableTask[int] = task.RetryableTask(
        policy, pb.OrchestratorAction(id=1), start, False, clock=lambda: now[0]
    )
    assert retry.compute_next_delay() == timedelta(seconds=1)
    now[0] = start + timedelta(minutes=1)
    assert retry.compute_next_delay() is None


def named_function():
    return None


def test_get_name_returns_function_name_and_rejects_lambdas():
    assert task.get_name(named_function) == "named_function"
    with pytest.raises(ValueError, match="lambda"):
        task.get_name(lambda: None)


def test_get_entity_name_prefers_explicit_name_then_class_name():
    class Counter:
        pass

    def fn():
        return None

    fn.__durable_entity_name__ = "Explicit"  # type: ignore[attr-defined]
    assert task.get_entity_name(Counter) == "Counter"
    assert task.get_entity_name(fn) == "Explicit"
    assert task.get_entity_name(named_function) == "named_function"


def test_activity_context_exposes_orchestration_id_and_task_id():
    ctx = task.ActivityContext("orch-1", 7)
    assert (ctx.orchestration_id, ctx.task_id) == ("orch-1", 7)


def test_replay_safe_logger_is_silent_only_while_replaying(caplog):
    replaying = [True]
    logger = task.ReplaySafeLogger(logging.getLogger("durabletask.test.rs"), lambda: replaying[0])
    with caplog.at_level(logging.INFO, logger="durabletask.test.rs"):
        logger.info("during replay")
        replaying[0] = False
        logger.info("live")
    assert [r.getMessage() for r in caplog.records] == ["live"]


def test_orchestration_context_base_send_event_raises_not_implemented():
    assert "send_event" not in task.OrchestrationContext.__abstractmethods__
    assert "call_entity" not in task.OrchestrationContext.__abstractmethods__

    class Minimal(task.OrchestrationContext):
        instance_id = version = parent_instance_id = None  # type: ignore[assignment]
        current_utc_datetime = is_replaying = None  # type: ignore[assignment]
        set_custom_status = create_timer = call_activity = None  # type: ignore[assignment]
        call_sub_orchestrator = wait_for_external_event = None  # type: ignore[assignment]
        continue_as_new = new_uuid = None  # type: ignore[assignment]

    with pytest.raises(NotImplementedError):
        Minimal().send_event("x", "e")
