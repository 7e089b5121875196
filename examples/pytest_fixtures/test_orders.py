"""A complete test file using the durabletask pytest plugin (no conftest.py needed).

Run it with ``pytest examples/pytest_fixtures``: the plugin ships with the package and gives
each test a real embedded sidecar, clients and workers.
"""

from __future__ import annotations

import pytest

from durabletask import client, task


def price(ctx: task.ActivityContext, item: str) -> int:
    return {"apple": 2, "pear": 3}[item]


def order_total(ctx: task.OrchestrationContext, items: list[str]):
    prices = yield task.when_all([ctx.call_activity(price, input=i) for i in items])
    return sum(prices)


def test_an_order_is_priced(durabletask_worker, durabletask_client):
    durabletask_worker(orchestrators=[order_total], activities=[price])
    instance_id = durabletask_client.schedule_new_orchestration(
        order_total, input=["apple", "pear"])
    state = durabletask_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.runtime_status == client.OrchestrationStatus.COMPLETED
    assert state.get_output() == 5


def test_an_unknown_item_fails_the_order(durabletask_worker, durabletask_client):
    durabletask_worker(orchestrators=[order_total], activities=[price])
    instance_id = durabletask_client.schedule_new_orchestration(order_total, input=["plum"])
    state = durabletask_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.runtime_status == client.OrchestrationStatus.FAILED
    assert "plum" in state.failure_details.message


@pytest.mark.asyncio
async def test_the_async_client_sees_the_same_sidecar(durabletask_worker, durabletask_async_client):
    durabletask_worker(orchestrators=[order_total], activities=[price])
    instance_id = await durabletask_async_client.schedule_new_orchestration(
        order_total, input=["pear", "pear"])
    state = await durabletask_async_client.wait_for_orchestration_completion(
        instance_id, timeout=30)
    assert state.get_output() == 6
