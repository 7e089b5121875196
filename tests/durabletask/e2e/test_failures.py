"""End-to-end failures and bad input: what a user sees when things go wrong.

Orchestration scenarios run with the generator orchestrator and its ``async def`` twin
(the ``orch`` fixture).
"""

from __future__ import annotations

import socket
import uuid
from datetime import timedelta

import grpc
import pytest

from durabletask import client, task, worker
from durabletask.errors import PayloadTooLargeError
from tests.durabletask.e2e.twins import async_twin_of

Status = client.OrchestrationStatus


class FlakyError(RuntimeError):
    pass


_attempts: dict[str, int] = {}


def flaky(ctx: task.ActivityContext, key: str) -> str:
    _attempts[key] = _attempts.get(key, 0) + 1
    if _attempts[key] < 3:
        raise FlakyError(f"attempt {_attempts[key]} failed")
    return f"ok after {_attempts[key]}"


def always_fails(ctx: task.ActivityContext, _: None) -> None:
    raise ValueError("bad value in activity")


def huge_result(ctx: task.ActivityContext, size: int) -> str:
    return "x" * size


RETRY = task.RetryPolicy(
    first_retry_interval=timedelta(milliseconds=50), max_number_of_attempts=3
)


def retries(ctx: task.OrchestrationContext, key: str):
    return (yield ctx.call_activity(flaky, input=key, retry_policy=RETRY))


@async_twin_of(retries)
async def _retries(ctx: task.OrchestrationContext, key: str):
    return await ctx.call_activity(flaky, input=key, retry_policy=RETRY)


def fails_via_activity(ctx: task.OrchestrationContext, _: None):
    yield ctx.call_activity(always_fails)


@async_twin_of(fails_via_activity)
async def _fails_via_activity(ctx: task.OrchestrationContext, _: None):
    await ctx.call_activity(always_fails)


def calls_missing_activity(ctx: task.OrchestrationContext, _: None):
    yield ctx.call_activity("no_such_activity")


@async_twin_of(calls_missing_activity)
async def _calls_missing_activity(ctx: task.OrchestrationContext, _: None):
    await ctx.call_activity("no_such_activity")


def returns_huge(ctx: task.OrchestrationContext, size: int):
    return (yield ctx.call_activity(huge_result, input=size))


@async_twin_of(returns_huge)
async def _returns_huge(ctx: task.OrchestrationContext, size: int):
    return await ctx.call_activity(huge_result, input=size)


def catches_failure(ctx: task.OrchestrationContext, _: None):
    try:
        yield ctx.call_activity(always_fails)
    except task.TaskFailedError as error:
        return error.details.error_type
    return "no error"


@async_twin_of(catches_failure)
async def _catches_failure(ctx: task.OrchestrationContext, _: None):
    try:
        await ctx.call_activity(always_fails)
    except task.TaskFailedError as error:
        return error.details.error_type
    return "no error"


def test_retry_policy_retries_until_success(run_worker, dt_client, orch):
    run_worker([orch(retries)], [flaky])
    key = f"retry-{uuid.uuid4().hex}"  # the attempts are counted per key
    instance_id = dt_client.schedule_new_orchestration(orch(retries), input=key)
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.get_output() == "ok after 3"


def test_activity_failure_fails_orchestration_with_inner_failure(run_worker, dt_client, orch):
    run_worker([orch(fails_via_activity)], [always_fails])
    instance_id = dt_client.schedule_new_orchestration(orch(fails_via_activity))
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.runtime_status == Status.FAILED
    details = state.failure_details
    assert details.error_type == "durabletask.task.TaskFailedError"
    # As in 1.12.0, is_caused_by looks at this failure only; the cause is the inner one.
    assert details.is_caused_by(task.TaskFailedError)
    assert details.inner_failure.is_caused_by(ValueError)
    assert "bad value in activity" in details.inner_failure.message
    with pytest.raises(client.OrchestrationFailedError) as raised:
        state.raise_if_failed()
    assert raised.value.failure_details == details


def test_orchestrator_can_catch_task_failure(run_worker, dt_client, orch):
    run_worker([orch(catches_failure)], [always_fails])
    instance_id = dt_client.schedule_new_orchestration(orch(catches_failure))
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.get_output() == "builtins.ValueError"


def test_unknown_orchestrator_fails_naming_registered_ones(run_worker, dt_client, orch):
    run_worker([orch(retries)], [flaky])
    instance_id = dt_client.schedule_new_orchestration("does_not_exist")
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.runtime_status == Status.FAILED
    assert "does_not_exist" in state.failure_details.message
    assert "retries" in state.failure_details.message


def test_unknown_activity_fails_naming_registered_ones(run_worker, dt_client, orch):
    run_worker([orch(calls_missing_activity)], [flaky])
    instance_id = dt_client.schedule_new_orchestration(orch(calls_missing_activity))
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.runtime_status == Status.FAILED
    message = state.failure_details.inner_failure.message
    assert "no_such_activity" in message
    assert "flaky" in message


def test_oversized_activity_result_fails_orchestration_at_once(run_worker, dt_client, orch):
    run_worker([orch(returns_huge)], [huge_result])
    instance_id = dt_client.schedule_new_orchestration(orch(returns_huge), input=5 * 1024 * 1024)
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=60)
    assert state.runtime_status == Status.FAILED
    assert state.failure_details.inner_failure.is_caused_by(PayloadTooLargeError)
    assert "bytes" in state.failure_details.inner_failure.message


def test_oversized_input_is_refused_before_sending(dt_client):
    with pytest.raises(PayloadTooLargeError, match="bytes"):
        dt_client.schedule_new_orchestration("anything", input="x" * (5 * 1024 * 1024))


def test_unserialisable_input_raises_type_error_naming_argument(dt_client):
    with pytest.raises(TypeError, match="input"):
        dt_client.schedule_new_orchestration("anything", input=object())


@pytest.mark.parametrize("bad_id", ["", "a" * 300, "bad\nid", "tab\tid"])
def test_invalid_instance_id_raises_value_error(dt_client, bad_id):
    with pytest.raises(ValueError, match="instance"):
        dt_client.schedule_new_orchestration("anything", instance_id=bad_id)


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_sidecar_error_names_address_and_call():
    address = f"127.0.0.1:{_unused_port()}"
    with client.TaskHubGrpcClient(host_address=address) as c:
        with pytest.raises(grpc.RpcError) as raised:
            c.get_orchestration_state("anything")
    message = str(raised.value)
    assert address in message
    assert "GetInstance" in message
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE


def versioned(ctx: task.OrchestrationContext, _: None):
    return ctx.version


@async_twin_of(versioned)
async def _versioned(ctx: task.OrchestrationContext, _: None):  # noqa: ASYNC124 - like its twin
    return ctx.version


def test_version_mismatch_fails_with_version_mismatch(make_worker, dt_client, orch):
    w = make_worker([orch(versioned)])
    w.use_versioning(
        worker.VersioningOptions(
            version="1.0",
            match_strategy=worker.VersionMatchStrategy.STRICT,
            failure_strategy=worker.VersionFailureStrategy.FAIL,
        )
    )
    w.start()
    ok_id = dt_client.schedule_new_orchestration(orch(versioned), version="1.0")
    bad_id = dt_client.schedule_new_orchestration(orch(versioned), version="2.0")
    ok = dt_client.wait_for_orchestration_completion(ok_id, timeout=30)
    bad = dt_client.wait_for_orchestration_completion(bad_id, timeout=30)
    assert ok.get_output() == "1.0"
    assert bad.runtime_status == Status.FAILED
    assert bad.failure_details.error_type == "VersionMismatch"
