"""Process-isolated activities: CPU-bound work in child processes, a timeout, a crash.

Run it with ``python -m examples.isolated_activities``. The activities are module-level
functions (a child process imports them by module and name), and the program's entry
point is under ``if __name__ == "__main__"`` (each child re-imports this module).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from durabletask import client, task, worker
from durabletask.testing import create_test_backend


def count_primes(ctx: task.ActivityContext, limit: int) -> dict[str, int]:
    """CPU-bound: in a thread it would hold the GIL and slow the whole worker down."""
    count = sum(1 for n in range(2, limit) if all(n % d for d in range(2, int(n ** 0.5) + 1)))
    return {"limit": limit, "primes": count, "pid": os.getpid()}


def overrun(ctx: task.ActivityContext, seconds: float) -> None:
    """Runs past the pool's activity_timeout_seconds: its process is killed."""
    time.sleep(seconds)


def crash_once(ctx: task.ActivityContext, marker: str) -> str:
    """Its process dies on the first attempt (as a segfault would); the retry succeeds."""
    if not Path(marker).exists():
        Path(marker).write_text("crashed")
        os._exit(1)
    return "done on a fresh process"


def primes(ctx: task.OrchestrationContext, limits: list[int]):
    results = yield task.when_all([ctx.call_activity(count_primes, input=n) for n in limits])
    return results


def guarded(ctx: task.OrchestrationContext, spec: dict):
    try:
        yield ctx.call_activity(overrun, input=spec["seconds"])
    except task.TaskFailedError as error:
        timed_out = error.details.error_type
    recovered = yield ctx.call_activity(crash_once, input=spec["marker"])
    return {"overrun": timed_out, "crash_once": recovered}


def main() -> int:
    backend = create_test_backend(port=0)
    options = worker.ProcessIsolationOptions(
        max_processes=2, max_tasks_per_child=50, activity_timeout_seconds=3)
    try:
        with worker.TaskHubGrpcWorker(host_address=backend.address,
                                      process_isolation=options) as w, \
                tempfile.TemporaryDirectory() as folder:
            w.add_orchestrator(primes)
            w.add_orchestrator(guarded)
            for activity in (count_primes, overrun, crash_once):
                w.add_activity(activity, isolation="process")
            w.start()
            with client.TaskHubGrpcClient(host_address=backend.address) as c:
                return run(c, str(Path(folder) / "marker"))
    finally:
        backend.stop()


def run(c: client.TaskHubGrpcClient, marker: str) -> int:
    instance = c.schedule_new_orchestration(primes, input=[20_000, 30_000, 40_000])
    state = c.wait_for_orchestration_completion(instance, timeout=60)
    print("primes:", state.serialized_output)
    instance = c.schedule_new_orchestration(guarded, input={"seconds": 30, "marker": marker})
    state = c.wait_for_orchestration_completion(instance, timeout=60)
    print("guarded:", state.serialized_output)
    return 0 if state.runtime_status == client.OrchestrationStatus.COMPLETED else 1


if __name__ == "__main__":
    raise SystemExit(main())
