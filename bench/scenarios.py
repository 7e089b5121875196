"""Benchmark scenarios: each returns a JSON-able dict of measurements."""

from __future__ import annotations

import statistics
import time
from typing import Any

from durabletask import client, task


def echo(ctx: task.ActivityContext, value: Any) -> Any:
    return value


def hello(ctx: task.OrchestrationContext, name: str):
    return (yield ctx.call_activity(echo, input=f"Hello, {name}!"))


def chain(ctx: task.OrchestrationContext, steps: int):
    value = 0
    for _ in range(steps):
        value = yield ctx.call_activity(echo, input=value + 1)
    return value


def fanout(ctx: task.OrchestrationContext, count: int):
    results = yield task.when_all([ctx.call_activity(echo, input=i) for i in range(count)])
    return len(results)


ORCHESTRATORS = (hello, chain, fanout)
ACTIVITIES = (echo,)


def _wait_all(c: client.TaskHubGrpcClient, ids: list[str], timeout: float) -> None:
    for instance_id in ids:
        state = c.wait_for_orchestration_completion(instance_id, timeout=timeout)
        if state is None or state.runtime_status != client.OrchestrationStatus.COMPLETED:
            raise RuntimeError(f"{instance_id} did not complete: {state}")


def run_hello(c: client.TaskHubGrpcClient, n: int) -> dict[str, Any]:
    """N one-activity orchestrations scheduled at once."""
    started = time.perf_counter()
    ids = [c.schedule_new_orchestration(hello, input=str(i)) for i in range(n)]
    _wait_all(c, ids, timeout=600)
    seconds = time.perf_counter() - started
    return {"scenario": "hello", "n": n, "seconds": seconds, "rate": n / seconds}


def run_chain(c: client.TaskHubGrpcClient, n: int) -> dict[str, Any]:
    """One orchestration of N sequential activities."""
    started = time.perf_counter()
    instance_id = c.schedule_new_orchestration(chain, input=n)
    _wait_all(c, [instance_id], timeout=600)
    seconds = time.perf_counter() - started
    return {
        "scenario": "chain",
        "n": n,
        "seconds": seconds,
        "rate": n / seconds,
        "ms_per_step": 1000 * seconds / n,
    }


def run_fanout(c: client.TaskHubGrpcClient, n: int) -> dict[str, Any]:
    """One orchestration fanning out to N activities."""
    started = time.perf_counter()
    instance_id = c.schedule_new_orchestration(fanout, input=n)
    _wait_all(c, [instance_id], timeout=600)
    seconds = time.perf_counter() - started
    return {"scenario": "fanout", "n": n, "seconds": seconds, "rate": n / seconds}


def run_latency(c: client.TaskHubGrpcClient, n: int) -> dict[str, Any]:
    """N sequential one-activity orchestrations: end-to-end latency percentiles."""
    latencies = []
    started = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        instance_id = c.schedule_new_orchestration(hello, input=str(i))
        _wait_all(c, [instance_id], timeout=60)
        latencies.append(1000 * (time.perf_counter() - t0))
    seconds = time.perf_counter() - started
    quantiles = statistics.quantiles(latencies, n=20)
    return {
        "scenario": "latency",
        "n": n,
        "seconds": seconds,
        "rate": n / seconds,
        "p50_ms": statistics.median(latencies),
        "p95_ms": quantiles[18],
    }
