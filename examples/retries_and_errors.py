"""Retry policies, failure details and catching task failures inside an orchestration."""

from __future__ import annotations

import sys
from datetime import timedelta

from durabletask import client, task, worker
from durabletask.testing import create_test_backend

attempts = {"count": 0}


def flaky_payment(ctx: task.ActivityContext, amount: int) -> str:
    attempts["count"] += 1
    if attempts["count"] < 3:
        raise ConnectionError(f"payment service busy (attempt {attempts['count']})")
    return f"charged {amount}"


def reject(ctx: task.ActivityContext, _: None) -> None:
    raise ValueError("card declined")


RETRY = task.RetryPolicy(
    first_retry_interval=timedelta(milliseconds=100),
    max_number_of_attempts=5,
    backoff_coefficient=2.0,
    retry_timeout=timedelta(seconds=30),  # measured on the orchestration clock
)


def checkout(ctx: task.OrchestrationContext, amount: int):
    receipt = yield ctx.call_activity(flaky_payment, input=amount, retry_policy=RETRY)
    try:
        yield ctx.call_activity(reject)
    except task.TaskFailedError as error:
        return {"receipt": receipt, "second_card": error.details.error_type}
    return {"receipt": receipt}


def main() -> int:
    backend = create_test_backend(port=0)
    try:
        with worker.TaskHubGrpcWorker(host_address=backend.address) as w:
            w.add_orchestrator(checkout)
            w.add_activity(flaky_payment)
            w.add_activity(reject)
            w.start()
            with client.TaskHubGrpcClient(host_address=backend.address) as c:
                instance_id = c.schedule_new_orchestration(checkout, input=42)
                state = c.wait_for_orchestration_completion(instance_id, timeout=30)
                print(f"output: {state.serialized_output}")
                return 0 if state.runtime_status == client.OrchestrationStatus.COMPLETED else 1
    finally:
        backend.stop()


if __name__ == "__main__":
    sys.exit(main())
