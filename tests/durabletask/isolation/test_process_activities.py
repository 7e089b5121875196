"""Process-isolated activities: same results and failures as thread ones, in other processes.

Each test runs real children (spawned) against the real embedded sidecar.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from durabletask import client
from durabletask.worker import ProcessIsolationOptions
from tests.durabletask.helpers.wait import poll_until
from tests.durabletask.isolation import acts
from tests.durabletask.isolation.procs import gone, schedule_call, start_with

pytestmark = pytest.mark.slow


def _run(dt_client: client.TaskHubGrpcClient, name: str, value: Any
         ) -> client.OrchestrationState:
    state = dt_client.wait_for_orchestration_completion(
        schedule_call(dt_client, name, value), timeout=60)
    assert state is not None
    return state


def test_activities_see_the_same_input_and_context_as_in_a_thread(make_worker, dt_client):
    w = make_worker([acts.call])
    w.add_activity(acts.whoami, "in_thread")
    w.add_activity(acts.whoami, isolation="process")
    w.add_activity(acts.whoami_async, isolation="process")
    w.start()
    outputs = {}
    for name in ("in_thread", "whoami", "whoami_async"):
        state = _run(dt_client, name, {"n": [1, "two"]})
        assert state.runtime_status == client.OrchestrationStatus.COMPLETED
        outputs[name] = json.loads(state.serialized_output)
    assert outputs["in_thread"]["pid"] == os.getpid()
    for name in ("whoami", "whoami_async"):
        assert outputs[name]["pid"] != os.getpid()
        assert outputs[name]["input"] == {"n": [1, "two"]}
        assert outputs[name]["task_id"] == outputs["in_thread"]["task_id"]
        assert outputs[name]["instance"] != outputs["in_thread"]["instance"]


def _failure(dt_client: client.TaskHubGrpcClient, name: str, value: Any) -> dict[str, str]:
    instance = dt_client.schedule_new_orchestration(
        acts.call_catching, input={"name": name, "input": value})
    state = dt_client.wait_for_orchestration_completion(instance, timeout=60)
    assert state is not None
    assert state.runtime_status == client.OrchestrationStatus.COMPLETED
    return json.loads(state.serialized_output)


def test_a_failing_activity_fails_exactly_as_it_does_in_a_thread(make_worker, dt_client):
    w = make_worker([acts.call_catching])
    w.add_activity(acts.refuse, "refuse_in_thread")
    w.add_activity(acts.refuse, isolation="process")
    w.start()
    in_thread = _failure(dt_client, "refuse_in_thread", "no way")
    in_process = _failure(dt_client, "refuse", "no way")
    assert in_process["type"] == in_thread["type"] == "builtins.ValueError"
    assert in_process["message"] == in_thread["message"] == "no way"
    # The child's own traceback, down to the line that raised.
    assert "acts.py" in in_process["stack"]
    assert "raise ValueError" in in_process["stack"]


def test_an_activity_past_its_timeout_fails_with_timeout_error_and_its_child_isgone(
        make_worker, dt_client, tmp_path: Path):
    w = make_worker([acts.call, acts.call_catching], process_isolation=ProcessIsolationOptions(
        max_processes=1, activity_timeout_seconds=1))
    w.add_activity(acts.record_pid_and_sleep, isolation="process")
    w.add_activity(acts.whoami, isolation="process")
    w.start()
    failure = _failure(dt_client, "record_pid_and_sleep", str(tmp_path))
    assert failure["type"] == "builtins.TimeoutError"
    assert "activity_timeout_seconds" in failure["message"]
    (overrun,) = [int(p.name) for p in tmp_path.iterdir()]
    assert gone(overrun)
    # The pool replaced the killed child.
    after = json.loads(_run(dt_client, "whoami", None).serialized_output)
    assert after["pid"] not in (overrun, os.getpid())


def test_the_timeout_counts_the_activity_not_the_spawn_and_imports_of_its_child(
        make_worker, dt_client):
    # ProcessIsolationOptions.activity_timeout_seconds: a fresh child spawns and imports a
    # module slower than the timeout, then runs a quick activity; it must complete.
    from tests.durabletask.isolation import slow_import

    w = make_worker([acts.call], process_isolation=ProcessIsolationOptions(
        max_processes=1, activity_timeout_seconds=slow_import.IMPORT_SECONDS / 2))
    w.add_activity(slow_import.quick, isolation="process")
    w.start()
    state = _run(dt_client, "quick", {"ok": True})
    assert state.runtime_status == client.OrchestrationStatus.COMPLETED, state.failure_details
    assert json.loads(state.serialized_output) == {"ok": True}


def test_a_child_killed_mid_activity_is_redelivered_and_completed_by_a_fresh_child(
        make_worker, dt_client, tmp_path: Path):
    start_with(make_worker, acts.die_once)
    state = _run(dt_client, "die_once", str(tmp_path))
    assert state.runtime_status == client.OrchestrationStatus.COMPLETED
    killed = int((tmp_path / "died").read_text())
    assert json.loads(state.serialized_output) not in (killed, os.getpid())
    assert gone(killed)


def test_a_child_past_its_memory_ceiling_is_replaced_and_one_below_it_is_reused(
        make_worker, dt_client):
    w = make_worker([acts.call], process_isolation=ProcessIsolationOptions(
        max_processes=1, max_memory_mb=150))
    w.add_activity(acts.grow, isolation="process")
    w.start()
    small = [json.loads(_run(dt_client, "grow", 1).serialized_output) for _ in range(2)]
    assert small[0] == small[1]  # well below the ceiling: the same child
    big = json.loads(_run(dt_client, "grow", 200).serialized_output)
    assert big == small[0]
    after = json.loads(_run(dt_client, "grow", 1).serialized_output)
    assert after != big
    assert gone(big)


def test_a_poison_activity_fails_with_worker_lost_after_max_recovery_attempts(
        make_worker, dt_client, tmp_path: Path):
    # The worker never fails it itself: it abandons with "process-lost" and the sidecar
    # counts a lost worker each time; past max_recovery_attempts (5 by default) the
    # activity fails with WorkerLost, so the attempts are exactly 1 + 5.
    w = start_with(make_worker, acts.die_always)
    instance = schedule_call(dt_client, "die_always", str(tmp_path))
    state = dt_client.wait_for_orchestration_completion(instance, timeout=120)
    assert state is not None
    assert state.runtime_status == client.OrchestrationStatus.FAILED
    assert state.failure_details is not None
    # The orchestration fails with the activity's WorkerLost failure as its message.
    assert "6 workers were lost" in state.failure_details.message
    assert "max_recovery_attempts=5" in state.failure_details.message
    attempts = list(tmp_path.iterdir())
    assert len(attempts) == 1 + 5
    w.stop()
    assert all(gone(int(path.name)) for path in attempts)


def _pipes() -> int:
    """Pipes this process holds open (each child costs one while it lives)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:")
        except OSError:  # closed meanwhile (the listing's own fd)
            pass
    return count


def test_children_are_recycled_after_their_task_limit_and_nothing_leaks(
        make_worker, dt_client):
    # A first worker pays the one-time costs (multiprocessing's resource tracker pipe).
    warm_up = start_with(make_worker, acts.whoami)
    assert _run(dt_client, "whoami", None).runtime_status == client.OrchestrationStatus.COMPLETED
    warm_up.stop()
    pipes, threads = _pipes(), threading.active_count()
    w = make_worker([acts.fan_out], process_isolation=ProcessIsolationOptions(
        max_processes=2, max_tasks_per_child=10))
    w.add_activity(acts.whoami, isolation="process")
    w.start()
    instance = dt_client.schedule_new_orchestration(
        acts.fan_out, input={"name": "whoami", "count": 200})
    state = dt_client.wait_for_orchestration_completion(instance, timeout=120)
    assert state is not None
    assert state.runtime_status == client.OrchestrationStatus.COMPLETED
    results = json.loads(state.serialized_output)
    assert sorted(r["input"] for r in results) == list(range(200))
    per_child = Counter(r["pid"] for r in results)
    pids = set(per_child)
    # Each child retires after its 10th activity; only the two still alive at the end
    # may have run fewer: 20 or 21 children for 200 activities.
    assert sorted(per_child.values())[2:] == [10] * (len(pids) - 2)
    assert len(pids) in (20, 21)
    w.stop()
    assert all(gone(pid) for pid in pids)
    poll_until(lambda: threading.active_count() <= threads, message="threads back to baseline")
    poll_until(lambda: _pipes() <= pipes, message="pipes back to baseline")
