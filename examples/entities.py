"""Durable entities: a class entity, a function entity, a critical section and failures.

Runs on the embedded sidecar by default, or on any sidecar with entity support:
``python -m examples.entities [HOST:PORT]``. See docs/entities.md.
"""

from __future__ import annotations

import sys
import uuid
from typing import Any

from durabletask import client, task, worker
from durabletask.entities import DurableEntity, EntityContext, EntityInstanceId
from durabletask.testing import create_test_backend


class Account(DurableEntity):
    """A class-based entity: each public method is an operation."""

    def deposit(self, amount: int) -> int:
        self.set_state(self.get_state(int, 0) + amount)
        return self.get_state(int)

    def withdraw(self, amount: int) -> int:
        balance = self.get_state(int, 0)
        if amount > balance:
            # The operation fails; its state change (none here) is rolled back.
            raise ValueError(f"insufficient funds: {balance} < {amount}")
        self.set_state(balance - amount)
        # Runs only if this operation succeeds: a signal to another entity.
        self.signal_entity(EntityInstanceId("audit_log", "bank"), "record",
                           f"{self.entity_context.entity_id.key} -{amount}")
        return balance - amount

    def balance(self) -> int:
        return self.get_state(int, 0)


def audit_log(ctx: EntityContext, entry: Any) -> Any:
    """A function-based entity: one function, ``ctx.operation`` says which operation."""
    if ctx.operation == "record":
        ctx.set_state([*ctx.get_state(list, []), entry])
    return ctx.get_state(list, [])


def transfer(ctx: task.OrchestrationContext, order: dict):
    source = EntityInstanceId("Account", order["from"])
    target = EntityInstanceId("Account", order["to"])
    # A critical section: nobody else's critical section touches the two accounts until
    # the block ends (locks are taken in one global order, so no deadlocks).
    with (yield ctx.lock_entities([source, target])):
        try:
            yield ctx.call_entity(source, "withdraw", order["amount"])
        except task.TaskFailedError as error:
            return {"status": "refused", "reason": error.details.inner_failure.message}
        yield ctx.call_entity(target, "deposit", order["amount"])
    balances = [(yield ctx.call_entity(source, "balance")),
                (yield ctx.call_entity(target, "balance"))]
    return {"status": "done", "balances": balances}


def run(address: str) -> int:
    suffix = uuid.uuid4().hex[:6]
    alice, bob = f"alice-{suffix}", f"bob-{suffix}"
    with worker.TaskHubGrpcWorker(host_address=address) as w:
        w.add_entity(Account)
        w.add_entity(audit_log)
        w.add_orchestrator(transfer)
        w.use_work_item_filters()
        w.start()
        with client.TaskHubGrpcClient(host_address=address) as c:
            c.signal_entity(EntityInstanceId("Account", alice), "deposit", input=100)
            results = []
            for amount in (30, 500):
                instance_id = c.schedule_new_orchestration(
                    transfer, input={"from": alice, "to": bob, "amount": amount})
                state = c.wait_for_orchestration_completion(instance_id, timeout=30)
                if state is None or state.runtime_status != client.OrchestrationStatus.COMPLETED:
                    return 1
                results.append(state.serialized_output)
                print(f"transfer {amount}: {state.serialized_output}")
            log = c.get_entity(EntityInstanceId("audit_log", "bank"))
            print(f"audit log: {log.get_typed_state() if log else None}")
            accounts = c.get_all_entities(client.EntityQuery(instance_id_starts_with="@account@"))
            print(f"accounts: {sorted((a.id.key, a.get_typed_state()) for a in accounts)}")
            return 0 if '"done"' in results[0] and '"refused"' in results[1] else 1


def main(address: str | None = None) -> int:
    if address is not None:
        return run(address)
    backend = create_test_backend(port=0)
    try:
        return run(backend.address)
    finally:
        backend.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
