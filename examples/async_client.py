"""The asyncio client: the same methods as the sync one, awaited."""

from __future__ import annotations

import asyncio
import sys

from durabletask import client, task, worker
from durabletask.testing import create_test_backend


async def fetch_price(ctx: task.ActivityContext, item: str) -> float:
    await asyncio.sleep(0.01)  # async def activities run on the worker's event loop
    return {"apple": 0.5, "pear": 0.75}[item]


def basket(ctx: task.OrchestrationContext, items: list[str]):
    prices = yield task.when_all([ctx.call_activity(fetch_price, input=i) for i in items])
    return sum(prices)


async def run(address: str) -> int:
    async with client.AsyncTaskHubGrpcClient(host_address=address) as c:
        instance_id = await c.schedule_new_orchestration(basket, input=["apple", "pear"])
        state = await c.wait_for_orchestration_completion(instance_id, timeout=30)
        print("total:", state.get_output())
        return 0


def main() -> int:
    backend = create_test_backend(port=0)
    try:
        with worker.TaskHubGrpcWorker(host_address=backend.address) as w:
            w.add_orchestrator(basket)
            w.add_activity(fetch_price)
            w.start()
            return asyncio.run(run(backend.address))
    finally:
        backend.stop()


if __name__ == "__main__":
    sys.exit(main())
