"""Record a history to replay later, then replay it against the current and a changed code.

``python -m examples.replay.record [DIR]`` runs ``order_flow`` on an embedded sidecar and
saves its history as ``DIR/order_flow.json`` (a temporary folder by default), in the shape
``durabletask history ID --json`` prints. ``histories/order_flow.json`` was made this way.
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from durabletask import client, history, task, worker
from durabletask.testing import Replayer, create_test_backend
from examples.replay.workflows import charge, order_flow, reserve


def record(out_dir: Path) -> Path:
    backend = create_test_backend(port=0)
    try:
        with worker.TaskHubGrpcWorker(host_address=backend.address) as w:
            w.add_orchestrator(order_flow)
            w.add_activity(reserve)
            w.add_activity(charge)
            w.start()
            with client.TaskHubGrpcClient(host_address=backend.address) as c:
                instance_id = c.schedule_new_orchestration(order_flow, input="order-7")
                c.wait_for_orchestration_completion(instance_id, timeout=30)
                events = c.get_orchestration_history(instance_id)
    finally:
        backend.stop()
    documents = [{"event_type": type(e).__name__, **history.to_dict(e)} for e in events]
    path = out_dir / "order_flow.json"
    path.write_text(json.dumps(documents, indent=1) + "\n")
    return path


async def order_flow_v2(ctx: task.OrchestrationContext, order: str):
    """A change that breaks running instances: the charge activity was renamed."""
    reservation = await ctx.call_activity(reserve, input=order)
    await ctx.create_timer(timedelta(milliseconds=100))
    return await ctx.call_activity("charge_card", input=reservation)


def main(out_dir: str | None = None) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        path = record(Path(out_dir or scratch))
        unchanged = Replayer([order_flow]).replay_file(path)
        print(unchanged)
        changed_replayer = Replayer()
        changed_replayer.add_orchestrator(order_flow_v2, "order_flow")
        changed = changed_replayer.replay_file(path)
        print(changed)
        return 0 if unchanged.ok and not changed.ok else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
