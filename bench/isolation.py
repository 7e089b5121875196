"""Thread vs process activities: ``python -m bench.isolation`` prints one JSON line per run.

* ``trivial``: activities/s for a fan-out of activities that return their input;
* ``cpu``: activities/s for a fan-out of CPU-bound activities (pure Python, ~0.1 s each),
  and the median latency of small orchestrations (no activities) started while it runs:
  how much a GIL-holding activity delays the rest of the worker.

Runs against an in-process embedded sidecar; process isolation uses ``max_processes=2``
(the 2-core CI machine). BENCH_QUICK=1 for small sizes.
"""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
from typing import Any

from durabletask import client, task, worker
from durabletask.testing import create_test_backend

QUICK = os.environ.get("BENCH_QUICK") == "1"
SIZES = {"trivial": 100 if QUICK else 1000, "cpu": 8 if QUICK else 24}
CPU_LOOPS = 1_500_000


def echo(ctx: task.ActivityContext, value: int) -> int:
    """A trivial activity."""
    return value


def burn(ctx: task.ActivityContext, loops: int) -> int:
    """A CPU-bound activity that holds the GIL while it runs."""
    total = 0
    for i in range(loops):
        total += i * i % 7
    return total


def fan_out(ctx: task.OrchestrationContext, spec: dict[str, Any]):
    """Calls ``spec["name"]`` ``spec["count"]`` times in parallel."""
    name = spec["name"]
    results = yield task.when_all(
        [ctx.call_activity(name, input=spec["input"]) for _ in range(spec["count"])])
    return len(results)


def hello(ctx: task.OrchestrationContext, _: Any) -> str:
    """No activities: its latency is the worker's own responsiveness."""
    return "hello"


def run(kind: str, isolation: str) -> dict[str, Any]:
    """One run of ``kind`` (``trivial`` or ``cpu``) with ``isolation``; its JSON line."""
    backend = create_test_backend(port=0)
    options = worker.ProcessIsolationOptions(max_processes=2)
    w = worker.TaskHubGrpcWorker(host_address=backend.address, process_isolation=options)
    w.add_orchestrator(fan_out)
    w.add_orchestrator(hello)
    w.add_activity(echo, isolation=isolation)
    w.add_activity(burn, isolation=isolation)
    n = SIZES[kind]
    spec = {"name": "echo", "input": 1, "count": n} if kind == "trivial" else \
        {"name": "burn", "input": CPU_LOOPS, "count": n}
    try:
        w.start()
        with client.TaskHubGrpcClient(host_address=backend.address) as c:
            _warm_up(c)
            started = time.perf_counter()
            instance = c.schedule_new_orchestration(fan_out, input=spec)
            latencies = _probe_latency(c, instance) if kind == "cpu" else []
            state = c.wait_for_orchestration_completion(instance, timeout=600)
            seconds = time.perf_counter() - started
    finally:
        w.stop()
        backend.stop()
    if state is None or state.runtime_status != client.OrchestrationStatus.COMPLETED:
        raise RuntimeError(f"the {kind} fan-out did not complete: {state}")
    line: dict[str, Any] = {"scenario": f"isolation_{kind}", "isolation": isolation,
                            "activities": n, "seconds": round(seconds, 3),
                            "activities_per_s": round(n / seconds, 1), "cores": os.cpu_count()}
    if latencies:
        line["hello_latency_ms_median"] = round(statistics.median(latencies) * 1000, 1)
    return line


def _warm_up(c: client.TaskHubGrpcClient) -> None:
    """Start the children (spawns are not what is measured) and the stream."""
    instance = c.schedule_new_orchestration(fan_out, input={"name": "echo", "input": 1,
                                                            "count": 4})
    c.wait_for_orchestration_completion(instance, timeout=120)


def _probe_latency(c: client.TaskHubGrpcClient, busy: str) -> list[float]:
    """Latencies of ``hello`` orchestrations run one after another while ``busy`` runs."""
    latencies: list[float] = []
    done = threading.Event()

    def watch() -> None:
        c.wait_for_orchestration_completion(busy, timeout=600)
        done.set()

    threading.Thread(target=watch, daemon=True).start()
    while not done.is_set() and len(latencies) < 20:
        started = time.perf_counter()
        instance = c.schedule_new_orchestration(hello)
        c.wait_for_orchestration_completion(instance, timeout=120)
        latencies.append(time.perf_counter() - started)
    return latencies


def main() -> None:
    """Print a line per kind and isolation."""
    for kind in ("trivial", "cpu"):
        for isolation in ("thread", "process"):
            print(json.dumps(run(kind, isolation)), flush=True)


if __name__ == "__main__":
    main()
