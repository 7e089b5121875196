"""The sync and async clients against the real embedded sidecar, with a raw-stub worker."""

from __future__ import annotations

from datetime import datetime, timedelta

import grpc
import pytest

from durabletask import client
from durabletask.client import OrchestrationQuery, OrchestrationStatus
from durabletask.errors import SidecarError
from durabletask.history import EventRaisedEvent, ExecutionCompletedEvent, ExecutionStartedEvent
from durabletask.testing import InMemoryOrchestrationBackend
from tests.durabletask.client.raw_worker import RawWorker, complete_on_event
from tests.durabletask.helpers.wait import async_poll_until, poll_until


def test_schedule_and_wait_for_completion_returns_the_output(
    sidecar: InMemoryOrchestrationBackend, dt_client: client.TaskHubGrpcClient
) -> None:
    with RawWorker(sidecar.address):
        instance_id = dt_client.schedule_new_orchestration("echo", input={"n": 1},
                                                           tags={"t": "1"})
        state = dt_client.wait_for_orchestration_completion(instance_id, timeout=10)
    assert state is not None
    assert state.instance_id == instance_id
    assert state.name == "echo"
    assert state.runtime_status is OrchestrationStatus.COMPLETED
    assert state.get_output() == {"n": 1}
    assert state.get_input() == {"n": 1}
    assert state.created_at.tzinfo is None
    assert state.created_at <= state.last_updated_at
    state.raise_if_failed()


def test_get_orchestration_state_is_none_for_unknown_instance(
    dt_client: client.TaskHubGrpcClient,
) -> None:
    assert dt_client.get_orchestration_state("never-created") is None


def test_wait_for_start_raises_timeout_error_when_no_worker_runs_it(
    dt_client: client.TaskHubGrpcClient,
) -> None:
    instance_id = dt_client.schedule_new_orchestration("nobody-runs-this")
    with pytest.raises(TimeoutError, match=instance_id):
        dt_client.wait_for_orchestration_start(instance_id, timeout=0.2)
    state = dt_client.get_orchestration_state(instance_id)
    assert state is not None
    assert state.runtime_status is OrchestrationStatus.PENDING


def test_schedule_with_an_id_in_use_raises_sidecar_error(
    dt_client: client.TaskHubGrpcClient,
) -> None:
    dt_client.schedule_new_orchestration("o", instance_id="dup")
    with pytest.raises(SidecarError, match="StartInstance for instance 'dup'") as info:
        dt_client.schedule_new_orchestration("o", instance_id="dup")
    assert isinstance(info.value, grpc.RpcError)
    assert info.value.code() is not grpc.StatusCode.OK


def test_raised_event_reaches_the_orchestration(
    sidecar: InMemoryOrchestrationBackend, dt_client: client.TaskHubGrpcClient
) -> None:
    with RawWorker(sidecar.address, complete_on_event):
        instance_id = dt_client.schedule_new_orchestration("waiter")
        dt_client.wait_for_orchestration_start(instance_id, timeout=10)
        dt_client.raise_orchestration_event(instance_id, "approve", data=[1, 2])
        state = dt_client.wait_for_orchestration_completion(instance_id, timeout=10)
        history = dt_client.get_orchestration_history(instance_id)
    assert state is not None
    assert state.get_output() == [1, 2]
    kinds = [type(e) for e in history]
    assert kinds[0] is ExecutionStartedEvent or ExecutionStartedEvent in kinds
    assert ExecutionCompletedEvent in kinds
    raised = [e for e in history if isinstance(e, EventRaisedEvent)]
    assert [(e.name, e.input) for e in raised] == [("approve", "[1, 2]")]


def test_terminate_suspend_and_resume_change_the_status(
    sidecar: InMemoryOrchestrationBackend, dt_client: client.TaskHubGrpcClient
) -> None:
    def status(instance_id: str) -> OrchestrationStatus | None:
        state = dt_client.get_orchestration_state(instance_id)
        return state.runtime_status if state else None

    with RawWorker(sidecar.address, complete_on_event):
        instance_id = dt_client.schedule_new_orchestration("waiter")
        dt_client.wait_for_orchestration_start(instance_id, timeout=10)
        dt_client.suspend_orchestration(instance_id, reason="pause")
        poll_until(lambda: status(instance_id) is OrchestrationStatus.SUSPENDED,
                   message="suspended")
        dt_client.resume_orchestration(instance_id, reason="go")
        poll_until(lambda: status(instance_id) is OrchestrationStatus.RUNNING,
                   message="running again")
        dt_client.terminate_orchestration(instance_id, output="stopped")
        state = dt_client.wait_for_orchestration_completion(instance_id, timeout=10)
    assert state is not None
    assert state.runtime_status is OrchestrationStatus.TERMINATED
    assert state.get_output() == "stopped"


def test_queries_list_and_purge_completed_instances(
    sidecar: InMemoryOrchestrationBackend, dt_client: client.TaskHubGrpcClient
) -> None:
    with RawWorker(sidecar.address):
        ids = [dt_client.schedule_new_orchestration("echo", input=i, instance_id=f"q-{i}")
               for i in range(3)]
        for instance_id in ids:
            dt_client.wait_for_orchestration_completion(instance_id, timeout=10)
    query = OrchestrationQuery(runtime_status=[OrchestrationStatus.COMPLETED],
                               max_instance_count=1, fetch_inputs_and_outputs=True)
    states = dt_client.get_all_orchestration_states(query)
    assert sorted(s.instance_id for s in states) == ids
    assert sorted(s.get_output() for s in states) == [0, 1, 2]

    seen: list[str] = []
    token = None
    for _ in range(10):
        page = dt_client.list_instance_ids(runtime_status=[OrchestrationStatus.COMPLETED],
                                           page_size=2, continuation_token=token)
        seen.extend(page.items)
        token = page.continuation_token
        if token is None:
            break
    assert sorted(seen) == ids

    assert dt_client.purge_orchestration("q-0").deleted_instance_count == 1
    assert dt_client.get_orchestration_state("q-0") is None
    result = dt_client.purge_orchestrations_by(
        created_time_from=datetime(2000, 1, 1),
        runtime_status=[OrchestrationStatus.COMPLETED], timeout=timedelta(seconds=10),
    )
    assert result.deleted_instance_count == 2
    assert dt_client.get_all_orchestration_states() == []


def test_restart_returns_the_instance_id(
    sidecar: InMemoryOrchestrationBackend, dt_client: client.TaskHubGrpcClient
) -> None:
    with RawWorker(sidecar.address):
        instance_id = dt_client.schedule_new_orchestration("echo", input=5)
        dt_client.wait_for_orchestration_completion(instance_id, timeout=10)
        new_id = dt_client.restart_orchestration(instance_id,
                                                 restart_with_new_instance_id=True)
        assert new_id != instance_id
        state = dt_client.wait_for_orchestration_completion(new_id, timeout=10)
        assert dt_client.restart_orchestration(instance_id) == instance_id
    assert state is not None
    assert state.get_output() == 5


async def test_async_client_schedules_waits_and_queries(
    sidecar: InMemoryOrchestrationBackend,
) -> None:
    async with client.AsyncTaskHubGrpcClient(host_address=sidecar.address) as c:
        with RawWorker(sidecar.address, complete_on_event):
            instance_id = await c.schedule_new_orchestration("waiter", input="x")
            started = await c.wait_for_orchestration_start(instance_id, timeout=10)
            assert started is not None
            await c.raise_orchestration_event(instance_id, "go", data="done")
            state = await c.wait_for_orchestration_completion(instance_id, timeout=10)
        assert state is not None
        assert state.get_output() == "done"
        assert await c.get_orchestration_state("missing") is None
        states = await c.get_all_orchestration_states()
        assert [s.instance_id for s in states] == [instance_id]
        history = await c.get_orchestration_history(instance_id)
        assert any(isinstance(e, ExecutionCompletedEvent) for e in history)
        assert (await c.purge_orchestration(instance_id)).deleted_instance_count == 1
        await async_poll_until(
            lambda: _is_none(c.get_orchestration_state(instance_id)), message="purged"
        )


async def _is_none(awaitable: object) -> bool:
    return await awaitable is None  # type: ignore[misc]


async def test_async_wait_for_start_raises_timeout_error(
    sidecar: InMemoryOrchestrationBackend,
) -> None:
    async with client.AsyncTaskHubGrpcClient(host_address=sidecar.address) as c:
        instance_id = await c.schedule_new_orchestration("nobody-runs-this")
        with pytest.raises(TimeoutError):
            await c.wait_for_orchestration_start(instance_id, timeout=0.2)
