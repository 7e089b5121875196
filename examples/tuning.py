"""Performance knobs: the orchestration cache and the worker's concurrency limits.

A chain of sequential activities runs twice on the same sidecar: once with the
orchestration cache (the default: each episode applies only the new events) and
once with ``always_replay=True`` (every episode replays the whole history, as the
official SDK always does). Both give the same result; the cached run's cost grows
linearly with the chain's length, the replaying run's quadratically.
"""

from __future__ import annotations

import sys
import time

from durabletask import client, task, worker
from durabletask.testing import create_test_backend

STEPS = 150


def add_one(ctx: task.ActivityContext, value: int) -> int:
    return value + 1


def chain(ctx: task.OrchestrationContext, steps: int):
    value = 0
    for _ in range(steps):
        value = yield ctx.call_activity(add_one, input=value)
    return value


def timed_chain(address: str, cache: worker.OrchestrationCacheOptions) -> tuple[float, str]:
    """Runs the chain on a fresh worker with ``cache``; returns (seconds, output)."""
    concurrency = worker.ConcurrencyOptions(
        maximum_concurrent_activity_work_items=50,  # activities out at once (sidecar honours it)
        maximum_concurrent_orchestration_work_items=50,
        maximum_thread_pool_workers=8,  # threads for synchronous activities
    )
    with worker.TaskHubGrpcWorker(host_address=address, concurrency_options=concurrency,
                                  orchestration_cache=cache) as w:
        w.add_orchestrator(chain)
        w.add_activity(add_one)
        w.start()
        with client.TaskHubGrpcClient(host_address=address) as c:
            started = time.perf_counter()
            instance_id = c.schedule_new_orchestration(chain, input=STEPS)
            state = c.wait_for_orchestration_completion(instance_id, timeout=120)
            seconds = time.perf_counter() - started
    if state is None or state.runtime_status != client.OrchestrationStatus.COMPLETED:
        raise RuntimeError(f"the chain did not complete: {state}")
    return seconds, str(state.serialized_output)


def main() -> int:
    backend = create_test_backend(port=0)
    try:
        cached = worker.OrchestrationCacheOptions(max_size=1000, idle_timeout_seconds=300)
        replaying = worker.OrchestrationCacheOptions(always_replay=True)
        cached_seconds, cached_output = timed_chain(backend.address, cached)
        replay_seconds, replay_output = timed_chain(backend.address, replaying)
    finally:
        backend.stop()
    print(f"{STEPS}-step chain with the orchestration cache: {cached_seconds:.2f} s "
          f"(output {cached_output})")
    print(f"{STEPS}-step chain replaying every episode:   {replay_seconds:.2f} s "
          f"(output {replay_output})")
    return 0 if cached_output == replay_output == str(STEPS) else 1


if __name__ == "__main__":
    sys.exit(main())
