"""Managing instances: custom status, suspend/resume, terminate, continue-as-new, purge."""

from __future__ import annotations

import sys

from durabletask import client, task, worker
from durabletask.testing import create_test_backend


def approval(ctx: task.OrchestrationContext, _: None):
    ctx.set_custom_status("waiting for approval")
    decision = yield ctx.wait_for_external_event("decision")
    return decision


def counter(ctx: task.OrchestrationContext, count: int):
    # An eternal orchestration keeps its history short with continue_as_new.
    if count < 5:
        ctx.continue_as_new(count + 1)
        return None
    return count


def main() -> int:
    backend = create_test_backend(port=0)
    try:
        with worker.TaskHubGrpcWorker(host_address=backend.address) as w:
            w.add_orchestrator(approval)
            w.add_orchestrator(counter)
            w.start()
            with client.TaskHubGrpcClient(host_address=backend.address) as c:
                return run(c)
    finally:
        backend.stop()


def run(c: client.TaskHubGrpcClient) -> int:
    first = c.schedule_new_orchestration(approval)
    c.wait_for_orchestration_start(first, timeout=30)
    c.suspend_orchestration(first, reason="on hold")
    c.raise_orchestration_event(first, "decision", data="approved")  # buffered while suspended
    c.resume_orchestration(first, reason="back")
    print("approval:", c.wait_for_orchestration_completion(first, timeout=30).serialized_output)

    second = c.schedule_new_orchestration(approval)
    c.wait_for_orchestration_start(second, timeout=30)
    c.terminate_orchestration(second, output="cancelled by operator")
    state = c.wait_for_orchestration_completion(second, timeout=30)
    print("terminated:", state.runtime_status, state.serialized_output)

    eternal = c.schedule_new_orchestration(counter, input=0)
    print("counter:", c.wait_for_orchestration_completion(eternal, timeout=30).serialized_output)

    for instance_id in (first, second, eternal):
        c.purge_orchestration(instance_id)
    print("remaining instances:", len(c.get_all_orchestration_states()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
