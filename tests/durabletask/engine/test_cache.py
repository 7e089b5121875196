"""Orchestration cache: hits feed only new events, misses replay, results never differ."""

from __future__ import annotations

from typing import Any

import pytest

from durabletask import task
from durabletask.internal.engine.cache import (
    HISTORY_LENGTH_PROPERTY,
    NeedsHistory,
    OrchestrationCache,
    OrchestrationCacheOptions,
)
from durabletask.internal.proto import orchestrator_service_pb2 as pb

from tests.durabletask.engine import histories as h

INSTANCE = h.INSTANCE_ID
calls: list[str] = []


def step(ctx: task.ActivityContext, value: int) -> int:
    return value + 1


def chain(ctx: task.OrchestrationContext, steps: int):
    value = 0
    calls.append("run")
    for _ in range(steps):
        value = yield ctx.call_activity(step, input=value)
    return value


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Sidecar:
    """Plays a sidecar for the cache: full history or history streaming."""

    def __init__(self, cache: OrchestrationCache, *, streaming: bool) -> None:
        self.cache = cache
        self.streaming = streaming
        self.history: list[pb.HistoryEvent] = []
        self.fetches = 0

    def episode(self, *new_events: pb.HistoryEvent, acknowledge: bool = True) -> Any:
        request = pb.OrchestratorRequest(instanceId=INSTANCE)
        request.newEvents.extend([h.orchestrator_started(), *new_events])
        if self.streaming:
            request.requiresHistoryStreaming = True
            request.properties[HISTORY_LENGTH_PROPERTY].number_value = len(self.history)
        else:
            request.pastEvents.extend(self.history)
        try:
            results = self.cache.execute(request)
        except NeedsHistory:
            self.fetches += 1
            results = self.cache.execute(request, fetched_history=list(self.history))
        if acknowledge:
            self.cache.acknowledge(INSTANCE)
        self.history.extend(request.newEvents)
        self.history.extend(h.confirmations(results.actions))
        self.history.append(h.orchestrator_completed())
        return results


def new_cache(**options: Any) -> tuple[OrchestrationCache, FakeClock]:
    clock = FakeClock()
    executor = h.new_executor([chain], [step])
    cache = OrchestrationCache(executor, OrchestrationCacheOptions(**options), clock)
    return cache, clock


def run_chain(sidecar: Sidecar, steps: int) -> Any:
    results = sidecar.episode(h.execution_started("chain", input=steps))
    for task_id in range(1, steps + 1):
        results = sidecar.episode(h.task_completed(task_id, result=task_id))
    return results


@pytest.fixture(autouse=True)
def _reset_calls():
    calls.clear()


@pytest.mark.parametrize("streaming", [False, True])
def test_cache_hit_runs_orchestrator_once_and_gives_same_result(streaming):
    cache, _ = new_cache()
    results = run_chain(Sidecar(cache, streaming=streaming), steps=5)
    assert h.output_of(results) == 5
    assert calls == ["run"]
    assert cache.hits == 5


def test_always_replay_gives_same_result_as_cache():
    cached, _ = new_cache()
    replayed, _ = new_cache(always_replay=True)
    with_cache = run_chain(Sidecar(cached, streaming=False), steps=4)
    calls.clear()
    without = run_chain(Sidecar(replayed, streaming=False), steps=4)
    assert list(with_cache.actions) == list(without.actions)
    assert calls == ["run"] * 5


def test_unacknowledged_episode_is_not_reused():
    cache, _ = new_cache()
    sidecar = Sidecar(cache, streaming=False)
    sidecar.episode(h.execution_started("chain", input=2), acknowledge=False)
    sidecar.episode(h.task_completed(1, result=1))
    assert cache.hits == 0
    assert calls == ["run", "run"]


def test_streaming_miss_fetches_history_once():
    cache, _ = new_cache()
    sidecar = Sidecar(cache, streaming=True)
    sidecar.episode(h.execution_started("chain", input=3))
    cache.evict(INSTANCE)
    sidecar.episode(h.task_completed(1, result=1))
    sidecar.episode(h.task_completed(2, result=2))
    assert sidecar.fetches == 1  # the first episode had no history to fetch
    assert h.output_of(sidecar.episode(h.task_completed(3, result=3))) == 3


def test_history_that_does_not_match_cache_is_replayed():
    cache, _ = new_cache()
    sidecar = Sidecar(cache, streaming=False)
    sidecar.episode(h.execution_started("chain", input=2))
    sidecar.history[-1] = h.orchestrator_completed()  # same shape, rebuilt: still equal
    sidecar.history.insert(1, h.event_raised("noise"))  # a different history: a miss
    results = sidecar.episode(h.task_completed(1, result=1))
    assert cache.hits == 0
    assert h.kinds(results) == ["scheduleTask"]


def test_idle_entries_are_evicted():
    cache, clock = new_cache(idle_timeout_seconds=10)
    sidecar = Sidecar(cache, streaming=False)
    sidecar.episode(h.execution_started("chain", input=2))
    clock.now = 11
    sidecar.episode(h.task_completed(1, result=1))
    assert cache.hits == 0


def test_cache_size_is_bounded_least_recently_used_first():
    cache, _ = new_cache(max_size=2)
    for index in range(3):
        request = pb.OrchestratorRequest(instanceId=f"i{index}")
        request.newEvents.extend([h.orchestrator_started(), h.execution_started("chain", input=2)])
        cache.execute(request)
    assert len(cache) == 2


def test_completed_orchestrations_leave_the_cache():
    cache, _ = new_cache()
    run_chain(Sidecar(cache, streaming=False), steps=1)
    assert len(cache) == 0


def test_invalid_options_are_rejected():
    with pytest.raises(ValueError, match="max_size"):
        OrchestrationCacheOptions(max_size=-1)
    with pytest.raises(ValueError, match="idle_timeout"):
        OrchestrationCacheOptions(idle_timeout_seconds=0)
