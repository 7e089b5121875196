"""The orchestration cache changes cost, never results."""

from __future__ import annotations

from datetime import timedelta

from durabletask import client, task
from durabletask.worker import OrchestrationCacheOptions


def step(ctx: task.ActivityContext, value: int) -> int:
    return value + 1


def chain_with_everything(ctx: task.OrchestrationContext, steps: int):
    value = 0
    for index in range(steps):
        value = yield ctx.call_activity(step, input=value)
        if index == 1:
            yield ctx.create_timer(timedelta(milliseconds=10))
        ctx.set_custom_status({"at": index})
    extra = yield task.when_all([ctx.call_activity(step, input=value) for _ in range(3)])
    return {"value": value, "extra": extra}


def _run(make_worker, sidecar, options: OrchestrationCacheOptions, instance_id: str):
    w = make_worker([chain_with_everything], [step], orchestration_cache=options)
    w.start()
    with client.TaskHubGrpcClient(host_address=sidecar.address) as c:
        c.schedule_new_orchestration(chain_with_everything, input=6, instance_id=instance_id)
        state = c.wait_for_orchestration_completion(instance_id, timeout=30)
        history = c.get_orchestration_history(instance_id)
    w.stop()
    return state, history


def _shape(history):
    return [
        (type(e).__name__, getattr(e, "name", None))
        for e in history
        if type(e).__name__ not in ("OrchestratorStartedEvent", "OrchestratorCompletedEvent")
    ]


def test_outputs_and_histories_match_with_and_without_cache(make_worker, sidecar):
    cached, cached_history = _run(make_worker, sidecar, OrchestrationCacheOptions(), "same-id")
    with client.TaskHubGrpcClient(host_address=sidecar.address) as c:
        c.purge_orchestration("same-id")
    replayed, replayed_history = _run(
        make_worker, sidecar, OrchestrationCacheOptions(always_replay=True), "same-id"
    )
    assert cached.runtime_status == client.OrchestrationStatus.COMPLETED
    assert cached.get_output() == {"value": 6, "extra": [7, 7, 7]}
    assert cached.get_output() == replayed.get_output()
    assert _shape(cached_history) == _shape(replayed_history)
    assert cached.get_custom_status() == replayed.get_custom_status() == {"at": 5}


def test_tiny_cache_evicts_and_still_completes_everything(make_worker, dt_client):
    w = make_worker(
        [chain_with_everything], [step], orchestration_cache=OrchestrationCacheOptions(max_size=1)
    )
    w.start()
    ids = [dt_client.schedule_new_orchestration(chain_with_everything, input=4) for _ in range(5)]
    outputs = [dt_client.wait_for_orchestration_completion(i, timeout=30).get_output() for i in ids]
    assert [o["value"] for o in outputs] == [4] * 5
