"""`make run`: the embedded sidecar, a worker and a client running five classic patterns.

Each pattern prints its result; the program exits 0 when all of them completed.
"""

from __future__ import annotations

import sys
from datetime import timedelta

from durabletask import client, task, worker
from durabletask.testing import create_test_backend


def say_hello(ctx: task.ActivityContext, name: str) -> str:
    return f"Hello, {name}!"


def square(ctx: task.ActivityContext, value: int) -> int:
    return value * value


def activity_chain(ctx: task.OrchestrationContext, _: None):
    greetings = []
    for city in ("Tokyo", "Seattle", "London"):
        greetings.append((yield ctx.call_activity(say_hello, input=city)))
    return greetings


def fan_out_fan_in(ctx: task.OrchestrationContext, count: int):
    squares = yield task.when_all([ctx.call_activity(square, input=i) for i in range(count)])
    return sum(squares)


def durable_timer(ctx: task.OrchestrationContext, seconds: float):
    started = ctx.current_utc_datetime
    yield ctx.create_timer(timedelta(seconds=seconds))
    return f"woke up after {(ctx.current_utc_datetime - started).total_seconds():.1f}s"


def approval(ctx: task.OrchestrationContext, _: None):
    decision = yield ctx.wait_for_external_event("approval")
    return f"request {decision['status']} by {decision['by']}"


def parent(ctx: task.OrchestrationContext, name: str):
    child_result = yield ctx.call_sub_orchestrator(activity_chain)
    return {"parent": name, "child": child_result}


def main() -> int:
    backend = create_test_backend(port=0)
    try:
        with worker.TaskHubGrpcWorker(host_address=backend.address) as w:
            for orchestrator in (activity_chain, fan_out_fan_in, durable_timer, approval, parent):
                w.add_orchestrator(orchestrator)
            w.add_activity(say_hello)
            w.add_activity(square)
            w.start()
            with client.TaskHubGrpcClient(host_address=backend.address) as c:
                return run_patterns(c)
    finally:
        backend.stop()


def run_patterns(c: client.TaskHubGrpcClient) -> int:
    scheduled = {
        "activity chain": c.schedule_new_orchestration(activity_chain),
        "fan-out/fan-in": c.schedule_new_orchestration(fan_out_fan_in, input=10),
        "durable timer": c.schedule_new_orchestration(durable_timer, input=1.0),
        "external event": c.schedule_new_orchestration(approval),
        "sub-orchestration": c.schedule_new_orchestration(parent, input="demo"),
    }
    c.wait_for_orchestration_start(scheduled["external event"], timeout=30)
    c.raise_orchestration_event(
        scheduled["external event"], "approval", data={"status": "approved", "by": "Ada"}
    )
    failures = 0
    for pattern, instance_id in scheduled.items():
        state = c.wait_for_orchestration_completion(instance_id, timeout=60)
        if state is None or state.runtime_status != client.OrchestrationStatus.COMPLETED:
            failures += 1
            print(f"{pattern:>18}: FAILED ({state.failure_details if state else 'missing'})")
            continue
        print(f"{pattern:>18}: {state.serialized_output}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
