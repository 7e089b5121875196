"""Entity scenarios for an SDK's client and worker against a sidecar; prints JSON outcomes.

Written against the public API both SDKs share (``durabletask.client``, ``worker``,
``task``, ``entities``), standard library otherwise, so the official
durabletask==1.12.0 interpreter runs it in its own virtualenv and process:

    python -I entity_scenarios.py --address HOST:PORT

Each scenario returns what it observed; the test compares with what it expects.
Waits are bounded polls; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Callable, Generator
from datetime import datetime, timedelta, timezone
from typing import Any

from durabletask import client, entities, task, worker

WAIT_SECONDS = 30.0
Orchestration = Generator[Any, Any, Any]


def poll(probe: Callable[[], Any], what: str, timeout: float = WAIT_SECONDS) -> Any:
    """Call ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# ----------------------------------------------------------------- entities

def counter(ctx: entities.EntityContext, value: Any) -> Any:
    """A function entity: add, get, set, fail_after_add, delete, order."""
    op = ctx.operation
    if op == "add":
        ctx.set_state(ctx.get_state(int, 0) + value)
    elif op == "get":
        return ctx.get_state(int, 0)
    elif op == "fail_after_add":
        ctx.set_state(ctx.get_state(int, 0) + value)
        raise ValueError("refused after adding")
    elif op == "delete":
        ctx.set_state(None)
    elif op == "record":  # appends to a list state: the order operations ran in
        ctx.set_state([*ctx.get_state(list, []), value])
    return None


class Account(entities.DurableEntity):
    """A class entity: a balance with deposit/withdraw/balance, and a fan-out operation."""

    def deposit(self, amount: int) -> int:
        self.set_state(self.get_state(int, 0) + amount)
        return self.get_state(int, 0)

    def withdraw(self, amount: int) -> int:
        balance = self.get_state(int, 0)
        if amount > balance:
            raise ValueError(f"insufficient funds: {balance} < {amount}")
        self.set_state(balance - amount)
        return balance - amount

    def balance(self, _: Any = None) -> int:
        return self.get_state(int, 0)

    def notify(self, target_key: str) -> None:
        """Signals another counter and starts an orchestration (entity actions)."""
        self.signal_entity(entities.EntityInstanceId("counter", target_key), "add", 5)
        self.schedule_new_orchestration("read_counter", input=target_key,
                                        instance_id=f"started-{target_key}")


# ------------------------------------------------------------ orchestrators

def read_counter(ctx: task.OrchestrationContext, key: str) -> Orchestration:
    """Calls ``counter.get``."""
    return (yield ctx.call_entity(entities.EntityInstanceId("counter", key), "get"))


def call_and_signal(ctx: task.OrchestrationContext, key: str) -> Orchestration:
    """Signals ``add 2`` then calls ``get`` on the same counter: the call sees the signal."""
    entity = entities.EntityInstanceId("counter", key)
    ctx.signal_entity(entity, "add", 2)
    return (yield ctx.call_entity(entity, "get"))


def catch_failure(ctx: task.OrchestrationContext, key: str) -> Orchestration:
    """A failing operation surfaces as TaskFailedError; its state change is rolled back."""
    entity = entities.EntityInstanceId("counter", key)
    yield ctx.call_entity(entity, "add", 1)
    try:
        yield ctx.call_entity(entity, "fail_after_add", 100)
    except task.TaskFailedError as exc:
        return {"error": exc.details.message, "after": (yield ctx.call_entity(entity, "get"))}
    return {"error": None}


def transfer(ctx: task.OrchestrationContext, args: dict[str, Any]) -> Orchestration:
    """Moves money between two accounts inside a critical section."""
    source = entities.EntityInstanceId("Account", args["from"])
    target = entities.EntityInstanceId("Account", args["to"])
    with (yield ctx.lock_entities([target, source])):
        yield ctx.call_entity(source, "withdraw", args["amount"])
        yield ctx.call_entity(target, "deposit", args["amount"])
    return "done"


def hold_lock_and_end(ctx: task.OrchestrationContext, key: str) -> Orchestration:
    """Takes a lock without a ``with`` block and ends: the lock must not outlive it."""
    yield ctx.lock_entities([entities.EntityInstanceId("counter", key)])
    return "ended holding"


def lock_then_call(ctx: task.OrchestrationContext, key: str) -> Orchestration:
    """Locks a counter, then calls it."""
    entity = entities.EntityInstanceId("counter", key)
    with (yield ctx.lock_entities([entity])):
        return (yield ctx.call_entity(entity, "get"))


def delayed_signal(ctx: task.OrchestrationContext, key: str) -> None:
    """Sends a delayed signal (1 s) and then an immediate one to the same counter."""
    entity = entities.EntityInstanceId("counter", key)
    ctx.signal_entity(entity, "record", "delayed",
                      signal_time=ctx.current_utc_datetime + timedelta(seconds=1))
    ctx.signal_entity(entity, "record", "immediate")


ORCHESTRATORS = [read_counter, call_and_signal, catch_failure, transfer, hold_lock_and_end,
                 lock_then_call, delayed_signal]


def new_worker(address: str) -> worker.TaskHubGrpcWorker:
    """A worker with every entity and orchestrator above."""
    w = worker.TaskHubGrpcWorker(host_address=address)
    w.add_entity(counter)
    w.add_entity(Account)
    for fn in ORCHESTRATORS:
        w.add_orchestrator(fn)
    return w


# ---------------------------------------------------------------- scenarios

def _run(c: client.TaskHubGrpcClient, fn: Any, data: Any) -> Any:
    instance_id = c.schedule_new_orchestration(fn, input=data)
    state = c.wait_for_orchestration_completion(instance_id, timeout=WAIT_SECONDS)
    if state.runtime_status != client.OrchestrationStatus.COMPLETED:
        return {"status": state.runtime_status.name,
                "failure": state.failure_details.message if state.failure_details else None}
    return json.loads(state.serialized_output) if state.serialized_output else None


def _state(c: client.TaskHubGrpcClient, name: str, key: str) -> Any:
    found = c.get_entity(entities.EntityInstanceId(name, key), include_state=True)
    return None if found is None else json.loads(found.get_state())


def client_signals(c: client.TaskHubGrpcClient, key: str) -> Any:
    entity = entities.EntityInstanceId("counter", key)
    for amount in (1, 2, 3):
        c.signal_entity(entity, "add", amount)
    poll(lambda: _state(c, "counter", key) == 6, "three signals to apply")
    found = c.get_entity(entity, include_state=False)
    return {"state": _state(c, "counter", key), "without_state": found.includes_state,
            "locked": found.get_locked_by() is not None, "backlog": found.backlog_queue_size}


def call_sees_signal(c: client.TaskHubGrpcClient, key: str) -> Any:
    return _run(c, call_and_signal, key)


def failing_operation(c: client.TaskHubGrpcClient, key: str) -> Any:
    return _run(c, catch_failure, key)


def locked_transfers(c: client.TaskHubGrpcClient, key: str) -> Any:
    a, b = f"{key}-a", f"{key}-b"
    for account, amount in ((a, 100), (b, 100)):
        c.signal_entity(entities.EntityInstanceId("Account", account), "deposit", amount)
    poll(lambda: _state(c, "account", a) == 100 and _state(c, "account", b) == 100, "deposits")
    ids = [c.schedule_new_orchestration(transfer, input={"from": src, "to": dst, "amount": n})
           for src, dst, n in ((a, b, 30), (b, a, 50), (a, b, 70))]
    states = [c.wait_for_orchestration_completion(i, timeout=WAIT_SECONDS) for i in ids]
    return {"statuses": sorted(s.runtime_status.name for s in states),
            "balances": [_state(c, "account", a), _state(c, "account", b)]}


def lock_released_at_end(c: client.TaskHubGrpcClient, key: str) -> Any:
    c.signal_entity(entities.EntityInstanceId("counter", key), "add", 7)
    poll(lambda: _state(c, "counter", key) == 7, "the counter to exist")
    first = _run(c, hold_lock_and_end, key)
    second = _run(c, lock_then_call, key)
    found = c.get_entity(entities.EntityInstanceId("counter", key))
    return {"first": first, "second": second, "locked_after": found.get_locked_by() is not None}


def entity_actions(c: client.TaskHubGrpcClient, key: str) -> Any:
    c.signal_entity(entities.EntityInstanceId("Account", key), "notify", key)
    state = poll(lambda: c.get_orchestration_state(f"started-{key}"), "the started instance")
    state = c.wait_for_orchestration_completion(state.instance_id, timeout=WAIT_SECONDS)
    return {"started_output": json.loads(state.serialized_output),
            "counter": _state(c, "counter", key)}


def delayed_signals(c: client.TaskHubGrpcClient, key: str) -> Any:
    _run(c, delayed_signal, key)
    client_key = f"{key}-client"
    entity = entities.EntityInstanceId("counter", client_key)
    c.signal_entity(entity, "record", "delayed",
                    signal_time=datetime.now(timezone.utc) + timedelta(seconds=1))
    c.signal_entity(entity, "record", "immediate")
    orchestrated = poll(lambda: (s := _state(c, "counter", key)) and len(s) == 2 and s,
                        "both orchestration signals")
    from_client = poll(lambda: (s := _state(c, "counter", client_key)) and len(s) == 2 and s,
                       "both client signals")
    return {"orchestration": orchestrated, "client": from_client}


def queries_and_clean(c: client.TaskHubGrpcClient, key: str) -> Any:
    for suffix in ("x", "y"):
        c.signal_entity(entities.EntityInstanceId("counter", f"{key}-{suffix}"), "add", 1)
    poll(lambda: _state(c, "counter", f"{key}-y") == 1, "the counters")
    c.signal_entity(entities.EntityInstanceId("counter", f"{key}-x"), "delete")
    poll(lambda: c.get_entity(entities.EntityInstanceId("counter", f"{key}-x")) is None,
         "the state to be deleted")
    listed = c.get_all_entities(client.EntityQuery(instance_id_starts_with=f"@counter@{key}",
                                                   page_size=1))
    transient = c.get_all_entities(client.EntityQuery(
        instance_id_starts_with=f"@counter@{key}", include_transient=True))
    cleaned = c.clean_entity_storage()
    after = c.get_all_entities(client.EntityQuery(
        instance_id_starts_with=f"@counter@{key}", include_transient=True))
    return {"listed": [str(e.id) for e in listed], "transient": len(transient),
            "removed_at_least_one": cleaned.empty_entities_removed >= 1,
            "locks_released": cleaned.orphaned_locks_released,
            "after_clean": [str(e.id) for e in after]}


SCENARIOS: dict[str, Callable[[client.TaskHubGrpcClient, str], Any]] = {
    "client_signals": client_signals,
    "call_sees_signal": call_sees_signal,
    "failing_operation": failing_operation,
    "locked_transfers": locked_transfers,
    "lock_released_at_end": lock_released_at_end,
    "entity_actions": entity_actions,
    "delayed_signals": delayed_signals,
    "queries_and_clean": queries_and_clean,
}


def run_scenarios(address: str) -> dict[str, Any]:
    """Runs every scenario with a fresh key; an exception is recorded as the outcome."""
    w = new_worker(address)
    w.start()
    outcomes: dict[str, Any] = {}
    try:
        with client.TaskHubGrpcClient(host_address=address) as c:
            for name, scenario in SCENARIOS.items():
                key = f"{name}-{uuid.uuid4().hex[:8]}"
                try:
                    outcomes[name] = scenario(c, key)
                except Exception as exc:  # noqa: BLE001 - reported to the test as data
                    outcomes[name] = {"exception": f"{type(exc).__name__}: {exc}"}
    finally:
        w.stop()
    return outcomes


def main(argv: list[str]) -> int:
    """Runs the scenarios against ``--address`` and prints one JSON line."""
    parser = argparse.ArgumentParser(prog="entity_scenarios")
    parser.add_argument("--address", required=True)
    args = parser.parse_args(argv)
    sys.stdout.write(json.dumps(run_scenarios(args.address)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
