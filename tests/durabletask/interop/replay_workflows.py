"""Orchestrations whose histories are recorded for replay tests, by either SDK.

Written only against the public API both SDKs share, so the official durabletask==1.12.0
(in its own venv and process, ``official_driver.py record-histories``) and ours record
histories of the same code. ``record`` runs every workflow once on a sidecar and writes each
instance's history as ``[history.to_dict(e) for e in client.get_orchestration_history(id)]``
to ``<out>/<workflow>.json``.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from durabletask import client, history, task, worker

TIMER = timedelta(milliseconds=200)
WAIT_SECONDS = 60


def reserve(ctx: task.ActivityContext, order: str) -> str:
    """Reserves stock for ``order``."""
    return f"reserved:{order}"


def charge(ctx: task.ActivityContext, reservation: str) -> str:
    """Charges a reservation."""
    return f"charged:{reservation}"


def add(ctx: task.ActivityContext, values: list[int]) -> int:
    """Adds up ``values``."""
    return sum(values)


def reject(ctx: task.ActivityContext, _: Any) -> None:
    """Always fails (the history then holds a taskFailed event)."""
    raise ValueError("rejected")


def order_flow(ctx: task.OrchestrationContext, order: str):
    """Reserve, wait a durable timer, charge."""
    reservation = yield ctx.call_activity(reserve, input=order)
    yield ctx.create_timer(TIMER)
    return (yield ctx.call_activity(charge, input=reservation))


def child_sum(ctx: task.OrchestrationContext, values: list[int]):
    """A sub-orchestration adding up ``values`` with an activity."""
    return (yield ctx.call_activity(add, input=values))


def totals(ctx: task.OrchestrationContext, values: list[int]):
    """Fan-out, a sub-orchestration, a caught activity failure and an external event."""
    parts = yield task.when_all([ctx.call_activity(add, input=[v, 1]) for v in values])
    total = yield ctx.call_sub_orchestrator(child_sum, input=parts)
    try:
        yield ctx.call_activity(reject)
    except task.TaskFailedError:
        total += 1000
    approved = yield ctx.wait_for_external_event("approve")
    return {"total": total, "approved": approved}


ORCHESTRATORS = [order_flow, child_sum, totals]
ACTIVITIES = [reserve, charge, add, reject]
INPUTS = {"order_flow": "o-1", "totals": [1, 2, 3]}
"""Workflow name -> input; ``record`` writes one history file per name."""


def record(address: str, out_dir: str) -> dict[str, str]:
    """Run every workflow of ``INPUTS`` on the sidecar at ``address``; write their histories.

    Returns:
        Workflow name -> instance id.
    """
    w = worker.TaskHubGrpcWorker(host_address=address)
    for orchestrator in ORCHESTRATORS:
        w.add_orchestrator(orchestrator)
    for activity in ACTIVITIES:
        w.add_activity(activity)
    w.start()
    c = client.TaskHubGrpcClient(host_address=address)
    try:
        return {name: _record_one(c, name, data, Path(out_dir)) for name, data in INPUTS.items()}
    finally:
        c.close()
        w.stop()


def _record_one(c: client.TaskHubGrpcClient, name: str, data: Any, out_dir: Path) -> str:
    instance_id = f"{name}-{uuid.uuid4().hex[:8]}"
    c.schedule_new_orchestration(name, input=data, instance_id=instance_id)
    if name == "totals":
        c.wait_for_orchestration_start(instance_id, timeout=WAIT_SECONDS)
        c.raise_orchestration_event(instance_id, "approve", data=True)
    state = c.wait_for_orchestration_completion(instance_id, timeout=WAIT_SECONDS)
    if state is None or state.runtime_status != client.OrchestrationStatus.COMPLETED:
        raise RuntimeError(f"{name} did not complete: {state}")
    events = c.get_orchestration_history(instance_id)
    documents = [history.to_dict(event) for event in events]
    (out_dir / f"{name}.json").write_text(json.dumps(documents, indent=1))
    return instance_id
