"""The Durable Task Scheduler provider, run locally against the embedded sidecar's task hubs.

Against Azure, pass the scheduler endpoint, your task hub and a credential, for example
``token_credential=DefaultAzureCredential()`` from ``azure-identity``.
"""

from __future__ import annotations

import sys

from durabletask import task
from durabletask.azuremanaged import DurableTaskSchedulerClient, DurableTaskSchedulerWorker
from durabletask.sidecar.hosting import EmbeddedSidecar


def greet(ctx: task.ActivityContext, name: str) -> str:
    return f"Hello from the task hub, {name}!"


def hello(ctx: task.OrchestrationContext, name: str):
    return (yield ctx.call_activity(greet, input=name))


def main() -> int:
    with EmbeddedSidecar(taskhubs=("orders",)) as sidecar:
        endpoint = f"http://{sidecar.address}"  # http:// = plaintext, as the local emulator
        with DurableTaskSchedulerWorker(
            host_address=endpoint, taskhub="orders", token_credential=None
        ) as w, DurableTaskSchedulerClient(
            host_address=endpoint, taskhub="orders", token_credential=None
        ) as c:
            w.add_orchestrator(hello)
            w.add_activity(greet)
            w.start()
            instance_id = c.schedule_new_orchestration(hello, input="Ada")
            state = c.wait_for_orchestration_completion(instance_id, timeout=30)
            print("output:", state.serialized_output)
            return 0 if state.get_output().startswith("Hello") else 1


if __name__ == "__main__":
    sys.exit(main())
