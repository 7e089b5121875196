"""Fan-in batching: results of a fan-out share episodes; the last one is not delayed."""

from __future__ import annotations

from durabletask.testing import VirtualClock
from tests.durabletask.sidecar.fake_worker import schedule_task


def _fan_out(harness, instance_id: str, count: int):
    harness.start(instance_id)
    worker = harness.worker()
    worker.complete(
        worker.orchestration(instance_id),
        *[schedule_task(i, "step") for i in range(1, count + 1)],
    )
    return worker, [worker.activity(instance_id) for _ in range(count)]


def _results_in(item) -> int:
    return sum(e.HasField("taskCompleted") for e in item.orchestratorRequest.newEvents)


def test_results_arriving_while_activities_are_out_share_one_episode(make_harness):
    clock = VirtualClock()  # the window runs on it: it ends only when the test says so
    harness = make_harness(fan_in_batch_window_seconds=0.5, clock=clock)
    worker, activities = _fan_out(harness, "fan", 3)
    worker.complete_activity(activities[0], result="1")
    worker.complete_activity(activities[1], result="2")
    clock.advance(0.499)
    worker.expect_nothing(within=0.2)  # two of three answered: still batching
    clock.advance(0.001)
    episode = worker.orchestration("fan", timeout=5)
    assert _results_in(episode) == 2


def test_the_last_outstanding_result_is_dispatched_at_once(make_harness):
    clock = VirtualClock()  # never advanced: the 30 s window cannot be what ends the wait
    harness = make_harness(fan_in_batch_window_seconds=30.0, clock=clock)
    worker, activities = _fan_out(harness, "fan", 2)
    worker.complete_activity(activities[0], result="1")
    worker.complete_activity(activities[1], result="2")
    episode = worker.orchestration("fan", timeout=5)
    assert _results_in(episode) == 2


def test_batching_can_be_disabled(make_harness):
    harness = make_harness(fan_in_batch_window_seconds=0)
    worker, activities = _fan_out(harness, "fan", 2)
    worker.complete_activity(activities[0], result="1")
    episode = worker.orchestration("fan", timeout=5)
    assert _results_in(episode) == 1
