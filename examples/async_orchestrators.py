"""``async def`` orchestrators: await activities, timers, events, sub-orchestrations, entities.

The same replay rules as generator orchestrators apply: await only what the context and
``task.when_all`` / ``task.when_any`` return, never asyncio. Generator and ``async def``
orchestrators mix freely in one worker (here the child is a generator).
"""

from __future__ import annotations

import sys
from datetime import timedelta

from durabletask import client, task, worker
from durabletask.entities import DurableEntity, EntityInstanceId
from durabletask.testing import create_test_backend

RETRY = task.RetryPolicy(first_retry_interval=timedelta(milliseconds=100),
                         max_number_of_attempts=3)
attempts = {"count": 0}


def price(ctx: task.ActivityContext, item: str) -> int:
    return {"apple": 2, "pear": 3, "plum": 5}[item]


def reserve(ctx: task.ActivityContext, total: int) -> str:
    attempts["count"] += 1
    if attempts["count"] < 2:
        raise ConnectionError("warehouse busy")
    return f"reserved {total}"


class Stock(DurableEntity):
    def take(self, amount: int) -> int:
        self.set_state(self.get_state(int, 100) - amount)
        return self.get_state(int)


def shipping(ctx: task.OrchestrationContext, total: int):
    """A generator sub-orchestration, called from the async def below."""
    return "express" if (yield ctx.call_activity(price, input="plum")) < total else "standard"


async def order(ctx: task.OrchestrationContext, items: list[str]):
    # Fan out and in: when_all returns a task, so it is awaited like any other.
    prices = await task.when_all([ctx.call_activity(price, input=i) for i in items])
    total = sum(prices)
    # A retry policy works as with generators: durable timers between the attempts.
    reservation = await ctx.call_activity(reserve, input=total, retry_policy=RETRY)
    # Wait for an approval, or give up after a durable timer.
    approval = ctx.wait_for_external_event("approve")
    timeout = ctx.create_timer(timedelta(seconds=30))
    if await task.when_any([approval, timeout]) is timeout:
        return {"status": "not approved"}
    timeout.cancel()
    # A critical section on an entity: the lock is awaited, then used with `with`.
    stock = EntityInstanceId("Stock", "fruit")
    with await ctx.lock_entities([stock]):
        left = await ctx.call_entity(stock, "take", len(items))
    method = await ctx.call_sub_orchestrator(shipping, input=total)
    return {"total": total, "reservation": reservation, "approved_by": approval.get_result(),
            "stock_left": left, "shipping": method}


def main() -> int:
    backend = create_test_backend(port=0)
    try:
        with worker.TaskHubGrpcWorker(host_address=backend.address) as w:
            w.add_orchestrator(order)
            w.add_orchestrator(shipping)
            w.add_activity(price)
            w.add_activity(reserve)
            w.add_entity(Stock)
            w.start()
            with client.TaskHubGrpcClient(host_address=backend.address) as c:
                instance_id = c.schedule_new_orchestration(order, input=["apple", "pear"])
                c.wait_for_orchestration_start(instance_id, timeout=30)
                c.raise_orchestration_event(instance_id, "approve", data="ada")
                state = c.wait_for_orchestration_completion(instance_id, timeout=30)
                print(f"output: {state.serialized_output}")
                return 0 if state.runtime_status == client.OrchestrationStatus.COMPLETED else 1
    finally:
        backend.stop()


if __name__ == "__main__":
    sys.exit(main())
