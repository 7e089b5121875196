"""The async client drives the same orchestrations as the sync one."""

from __future__ import annotations

import pytest

from durabletask import client, task


def add(ctx: task.ActivityContext, pair: list[int]) -> int:
    return pair[0] + pair[1]


def adder(ctx: task.OrchestrationContext, pair: list[int]):
    return (yield ctx.call_activity(add, input=pair))


def waiter(ctx: task.OrchestrationContext, _: None):
    return (yield ctx.wait_for_external_event("done"))


async def test_async_client_schedules_and_waits(run_worker, sidecar):
    run_worker([adder, waiter], [add])
    async with client.AsyncTaskHubGrpcClient(host_address=sidecar.address) as c:
        instance_id = await c.schedule_new_orchestration(adder, input=[2, 3])
        state = await c.wait_for_orchestration_completion(instance_id, timeout=30)
        assert state.get_output() == 5
        fetched = await c.get_orchestration_state(instance_id)
        assert fetched.runtime_status == client.OrchestrationStatus.COMPLETED


async def test_async_client_raises_events_and_times_out(run_worker, sidecar):
    run_worker([adder, waiter], [add])
    async with client.AsyncTaskHubGrpcClient(host_address=sidecar.address) as c:
        instance_id = await c.schedule_new_orchestration(waiter)
        await c.wait_for_orchestration_start(instance_id, timeout=30)
        with pytest.raises(TimeoutError):
            await c.wait_for_orchestration_completion(instance_id, timeout=0.3)
        await c.raise_orchestration_event(instance_id, "done", data="yes")
        state = await c.wait_for_orchestration_completion(instance_id, timeout=30)
        assert state.get_output() == "yes"
        result = await c.purge_orchestration(instance_id)
        assert result.deleted_instance_count == 1
