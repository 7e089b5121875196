"""Benchmark scenarios: each runs a workload against a sidecar and returns JSON-able figures.

This module uses only the standard library and the public ``durabletask``
``client``/``task`` API, so the same file runs unchanged under our SDK and under
the official ``durabletask==1.12.0`` (``bench/driver.py`` loads it by path).
"""

from __future__ import annotations

import logging
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from durabletask import client, entities, task, worker

WAIT_TIMEOUT_SECONDS = 600
"""Bound on any single wait for an orchestration (a hang fails the run, it never blocks it)."""
IDLE_POLL_INTERVAL_SECONDS = 0.25
IDLE_EVENT = "go"

Run = Callable[[client.TaskHubGrpcClient, int, int], dict[str, Any]]


def echo(ctx: task.ActivityContext, value: Any) -> Any:
    """Activity: returns its input."""
    return value


def hello(ctx: task.OrchestrationContext, name: str) -> Any:
    """One activity call."""
    return (yield ctx.call_activity(echo, input=f"Hello, {name}!"))


def chain(ctx: task.OrchestrationContext, steps: int) -> Any:
    """``steps`` sequential activity calls."""
    value = 0
    for _ in range(steps):
        value = yield ctx.call_activity(echo, input=value + 1)
    return value


def fanout(ctx: task.OrchestrationContext, count: int) -> Any:
    """``count`` activity calls in parallel, joined with ``when_all``."""
    results = yield task.when_all([ctx.call_activity(echo, input=i) for i in range(count)])
    return len(results)


def idle(ctx: task.OrchestrationContext, _: Any) -> Any:
    """Waits for one external event and returns its payload."""
    return (yield ctx.wait_for_external_event(IDLE_EVENT))


def counter(ctx: entities.EntityContext, amount: Any) -> Any:
    """Entity: ``add`` adds its input to the state; ``get`` returns the state."""
    if ctx.operation == "add":
        ctx.set_state((ctx.get_state(int) or 0) + amount)
    return ctx.get_state(int)


ORCHESTRATORS = (hello, chain, fanout, idle)
ACTIVITIES = (echo,)
ENTITIES = (counter,)
ENTITY_POLL_INTERVAL_SECONDS = 0.02


def rss_mb(pid: int | None = None, field: str = "VmHWM") -> float:
    """Resident memory of a process in MiB: ``VmHWM`` (peak so far) or ``VmRSS`` (now).

    Args:
        pid: The process; this process when None.
        field: The ``/proc/<pid>/status`` field to read.
    """
    with open(f"/proc/{pid or os.getpid()}/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/{pid}/status has no {field} line; the bench needs Linux")


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time a process has used so far (this process when None)."""
    if pid is None:
        return time.process_time()
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_all(c: client.TaskHubGrpcClient, ids: list[str], timeout: float) -> None:
    for instance_id in ids:
        state = c.wait_for_orchestration_completion(instance_id, timeout=timeout)
        if state is None or state.runtime_status != client.OrchestrationStatus.COMPLETED:
            raise RuntimeError(f"{instance_id} did not complete: {state}")


def run_hello(c: client.TaskHubGrpcClient, n: int, sidecar_pid: int) -> dict[str, Any]:
    """N one-activity orchestrations scheduled at once."""
    started = time.perf_counter()
    ids = [c.schedule_new_orchestration(hello, input=str(i)) for i in range(n)]
    _wait_all(c, ids, timeout=WAIT_TIMEOUT_SECONDS)
    seconds = time.perf_counter() - started
    return {"scenario": "hello", "n": n, "seconds": seconds, "rate": n / seconds}


def run_chain(c: client.TaskHubGrpcClient, n: int, sidecar_pid: int) -> dict[str, Any]:
    """One orchestration of N sequential activities."""
    started = time.perf_counter()
    instance_id = c.schedule_new_orchestration(chain, input=n)
    _wait_all(c, [instance_id], timeout=WAIT_TIMEOUT_SECONDS)
    seconds = time.perf_counter() - started
    return {
        "scenario": "chain",
        "n": n,
        "seconds": seconds,
        "rate": n / seconds,
        "ms_per_step": 1000 * seconds / n,
    }


def run_fanout(c: client.TaskHubGrpcClient, n: int, sidecar_pid: int) -> dict[str, Any]:
    """One orchestration fanning out to N activities."""
    started = time.perf_counter()
    instance_id = c.schedule_new_orchestration(fanout, input=n)
    _wait_all(c, [instance_id], timeout=WAIT_TIMEOUT_SECONDS)
    seconds = time.perf_counter() - started
    return {"scenario": "fanout", "n": n, "seconds": seconds, "rate": n / seconds}


def run_latency(c: client.TaskHubGrpcClient, n: int, sidecar_pid: int) -> dict[str, Any]:
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


def _count_running(c: client.TaskHubGrpcClient) -> int:
    query = client.OrchestrationQuery(runtime_status=[client.OrchestrationStatus.RUNNING])
    return len(c.get_all_orchestration_states(query))


def _wait_running(c: client.TaskHubGrpcClient, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (running := _count_running(c)) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"only {running} of {n} idle orchestrations are RUNNING after {timeout}s")
        time.sleep(IDLE_POLL_INTERVAL_SECONDS)


def run_idle(c: client.TaskHubGrpcClient, n: int, sidecar_pid: int) -> dict[str, Any]:
    """N orchestrations waiting on an external event: memory while they all wait, then finish."""
    sdk_before, sidecar_before = rss_mb(field="VmRSS"), rss_mb(sidecar_pid, "VmRSS")
    started = time.perf_counter()
    ids = [c.schedule_new_orchestration(idle) for _ in range(n)]
    _wait_running(c, n, timeout=WAIT_TIMEOUT_SECONDS)
    waiting = time.perf_counter()
    sdk_waiting, sidecar_waiting = rss_mb(), rss_mb(sidecar_pid)
    for i, instance_id in enumerate(ids):
        c.raise_orchestration_event(instance_id, IDLE_EVENT, data=i)
    _wait_all(c, ids, timeout=WAIT_TIMEOUT_SECONDS)
    seconds = time.perf_counter() - started
    return {
        "scenario": "idle",
        "n": n,
        "seconds": seconds,
        "rate": n / seconds,
        "start_seconds": waiting - started,
        "finish_seconds": seconds - (waiting - started),
        "sdk_rss_before_mb": sdk_before,
        "sidecar_rss_before_mb": sidecar_before,
        "sdk_peak_rss_waiting_mb": sdk_waiting,
        "sidecar_peak_rss_waiting_mb": sidecar_waiting,
        "sdk_kb_per_waiting": 1024 * (sdk_waiting - sdk_before) / n,
        "sidecar_kb_per_waiting": 1024 * (sidecar_waiting - sidecar_before) / n,
    }


def _entity_value(c: client.TaskHubGrpcClient, entity_id: entities.EntityInstanceId) -> int:
    metadata = c.get_entity(entity_id, include_state=True)
    # get_state() is the stored JSON text in both SDKs; int() reads a counter's state.
    return 0 if metadata is None or metadata.get_state() is None else int(metadata.get_state())


def run_entities(c: client.TaskHubGrpcClient, n: int, sidecar_pid: int) -> dict[str, Any]:
    """A counter entity signalled N times by the client, then read until it shows N."""
    entity_id = entities.EntityInstanceId("counter", f"bench-{time.monotonic_ns()}")
    started = time.perf_counter()
    for _ in range(n):
        c.signal_entity(entity_id, "add", input=1)
    deadline = time.monotonic() + WAIT_TIMEOUT_SECONDS
    while (value := _entity_value(c, entity_id)) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the counter shows {value} of {n} after {WAIT_TIMEOUT_SECONDS}s")
        time.sleep(ENTITY_POLL_INTERVAL_SECONDS)
    seconds = time.perf_counter() - started
    return {"scenario": "entities", "n": n, "seconds": seconds, "rate": n / seconds}


SCENARIOS: dict[str, Run] = {
    "hello": run_hello,
    "fanout": run_fanout,
    "chain": run_chain,
    "latency": run_latency,
    "idle": run_idle,
    "entities": run_entities,
}


def measure(address: str, scenario: str, n: int, sidecar_pid: int) -> dict[str, Any]:
    """Runs one scenario with a fresh worker and client in this process.

    One ``hello`` orchestration runs first, untimed, so connection set-up is not measured.

    Args:
        address: The sidecar's ``host:port``.
        scenario: A key of ``SCENARIOS``.
        n: The scenario's size.
        sidecar_pid: The sidecar's process id, for its memory figures.

    Returns:
        The scenario's figures plus ``sdk_peak_rss_mb``, ``sidecar_peak_rss_mb`` and the
        CPU time per item of both processes during the timed part.
    """
    logging.getLogger("durabletask").setLevel(logging.WARNING)
    logger = logging.getLogger("durabletask.bench")
    logger.setLevel(logging.WARNING)
    w = worker.TaskHubGrpcWorker(host_address=address, logger=logger)
    for orchestrator in ORCHESTRATORS:
        w.add_orchestrator(orchestrator)
    for activity in ACTIVITIES:
        w.add_activity(activity)
    for entity in ENTITIES:
        w.add_entity(entity)
    with w, client.TaskHubGrpcClient(host_address=address, logger=logger) as c:
        w.start()
        _wait_all(c, [c.schedule_new_orchestration(hello, input="warm-up")], timeout=60)
        sdk_cpu, sidecar_cpu = cpu_seconds(), cpu_seconds(sidecar_pid)
        result = SCENARIOS[scenario](c, n, sidecar_pid)
        result["sdk_cpu_ms_per_item"] = 1000 * (cpu_seconds() - sdk_cpu) / n
        result["sidecar_cpu_ms_per_item"] = 1000 * (cpu_seconds(sidecar_pid) - sidecar_cpu) / n
        result["sdk_peak_rss_mb"] = rss_mb()
        result["sidecar_peak_rss_mb"] = rss_mb(sidecar_pid)
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}
