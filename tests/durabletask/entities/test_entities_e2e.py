"""Entities end to end: our worker and client over real gRPC against a sidecar with entities.

Runs against the official in-memory sidecar (its own venv and process) and against our
embedded sidecar once that supports entities (see ``conftest.py``).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from durabletask import client, task
from durabletask.entities import DurableEntity, EntityContext, EntityInstanceId
from tests.durabletask.helpers.wait import poll_until

pytestmark = pytest.mark.slow

COMPLETED = client.OrchestrationStatus.COMPLETED
FAILED = client.OrchestrationStatus.FAILED
TIMEOUT = 30


def tally(ctx: EntityContext, amount: Any) -> Any:
    """A function entity: add, fail after writing, delete, get."""
    if ctx.operation == "add":
        ctx.set_state(ctx.get_state(int, 0) + amount)
    elif ctx.operation == "fail_after_write":
        ctx.set_state(-1000)
        raise ValueError("refused")
    elif ctx.operation == "delete":
        ctx.set_state(None)
    return ctx.get_state(int, 0)


class Account(DurableEntity):
    """A class entity: operations are its methods."""

    def deposit(self, amount: int) -> int:
        self.set_state(self.get_state(int, 0) + amount)
        return self.get_state(int)

    def withdraw(self, amount: int) -> int:
        balance = self.get_state(int, 0)
        if amount > balance:
            raise ValueError(f"insufficient funds: {balance} < {amount}")
        self.set_state(balance - amount)
        return balance - amount

    def balance(self) -> int:
        return self.get_state(int, 0)

    def forward(self, target: str) -> None:
        self.signal_entity(EntityInstanceId.parse(target), "deposit", self.get_state(int, 0))
        self.schedule_new_orchestration("report_balance", target, instance_id=f"report-{target}")


def _state(c: client.TaskHubGrpcClient, entity_id: EntityInstanceId) -> Any:
    metadata = c.get_entity(entity_id)
    return None if metadata is None else metadata.get_typed_state()


def _wait_for_state(c: client.TaskHubGrpcClient, entity_id: EntityInstanceId, expected: Any):
    return poll_until(lambda: _state(c, entity_id) == expected, timeout=TIMEOUT,
                      message=f"{entity_id} to hold {expected!r}")


def _run(c: client.TaskHubGrpcClient, orchestrator: Any, input: Any = None,
         instance_id: str | None = None) -> client.OrchestrationState:
    instance_id = c.schedule_new_orchestration(orchestrator, input=input, instance_id=instance_id)
    state = c.wait_for_orchestration_completion(instance_id, timeout=TIMEOUT)
    assert state is not None
    return state


def test_client_signals_run_in_order_and_get_entity_reads_the_state(
    entity_sidecar, entity_worker, entity_client,
):
    entity_worker(entities=[tally])
    entity_id = EntityInstanceId("tally", entity_sidecar.key("signals"))

    for amount in (1, 2, 3):
        entity_client.signal_entity(entity_id, "add", input=amount)
    _wait_for_state(entity_client, entity_id, 6)

    without_state = entity_client.get_entity(entity_id, include_state=False)
    assert without_state is not None
    assert without_state.id == entity_id
    assert without_state.includes_state is False
    assert without_state.get_state() is None
    assert without_state.locked_by is None
    missing = EntityInstanceId("tally", entity_sidecar.key("never-signalled"))
    assert entity_client.get_entity(missing) is None


def calls_account(ctx: task.OrchestrationContext, key: str):
    account = EntityInstanceId("Account", key)
    yield ctx.call_entity(account, "deposit", 50)
    balance = yield ctx.call_entity(account, "withdraw", 20, return_type=int)
    try:
        yield ctx.call_entity(account, "withdraw", 1000)
    except task.TaskFailedError as error:
        refused = [error.details.error_type, error.details.message,
                   error.details.inner_failure.error_type]
    after = yield ctx.call_entity(account, "balance")
    return {"balance": balance, "refused": refused, "after": after}


def test_orchestration_calls_a_class_entity_and_sees_failures_as_task_failed_errors(
    entity_sidecar, entity_worker, entity_client,
):
    entity_worker(orchestrators=[calls_account], entities=[Account])

    state = _run(entity_client, calls_account, entity_sidecar.key("acct"))

    assert state.runtime_status == COMPLETED, state.failure_details
    output = json.loads(state.serialized_output)
    assert output["balance"] == 30
    # Official shapes: a TaskFailedError describing an EntityOperationFailedException,
    # with the entity's own error as the inner failure; the state is as before.
    assert output["refused"] == [
        "durabletask.entities.entity_operation_failed_exception.EntityOperationFailedException",
        f"Operation 'withdraw' on entity '@account@{entity_sidecar.key('acct')}' failed with "
        "error: insufficient funds: 30 < 1000",
        "builtins.ValueError",
    ]
    assert output["after"] == 30


def test_a_failing_operation_rolls_back_only_itself_within_a_batch(
    entity_sidecar, entity_worker, entity_client,
):
    entity_id = EntityInstanceId("tally", entity_sidecar.key("rollback"))
    # Queue the operations before a worker exists, so the sidecar delivers one batch.
    for operation, amount in (("add", 1), ("fail_after_write", None), ("add", 2)):
        entity_client.signal_entity(entity_id, operation, input=amount)
    entity_worker(entities=[tally])

    _wait_for_state(entity_client, entity_id, 3)


def calls_and_fails(ctx: task.OrchestrationContext, key: str):
    yield ctx.call_entity(EntityInstanceId("tally", key), "fail_after_write")


def calls_an_unregistered_entity(ctx: task.OrchestrationContext, key: str):
    yield ctx.call_entity(EntityInstanceId("nobody_registered", key), "anything")


def test_unhandled_entity_failures_fail_the_orchestration_with_official_details(
    entity_sidecar, entity_worker, entity_client,
):
    entity_worker(orchestrators=[calls_and_fails], entities=[tally])

    failed = _run(entity_client, calls_and_fails, entity_sidecar.key("unhandled"))

    assert failed.runtime_status == FAILED
    details = failed.failure_details
    assert details is not None
    # The official test_entity_failure_handling pins this type and the entity's message.
    assert details.error_type == "durabletask.task.TaskFailedError"
    assert details.message == (
        f"Operation 'fail_after_write' on entity '@tally@{entity_sidecar.key('unhandled')}' "
        "failed with error: refused")
    inner = details.inner_failure
    assert inner is not None
    assert inner.error_type == (
        "durabletask.entities.entity_operation_failed_exception.EntityOperationFailedException")
    assert inner.inner_failure is not None
    assert inner.inner_failure.error_type == "builtins.ValueError"
    # The failed operation's write (-1000) was rolled back: the entity has no state.
    assert _state(entity_client, EntityInstanceId("tally", entity_sidecar.key("unhandled"))) \
        is None


def test_an_unregistered_entity_fails_the_call_with_the_official_error(
    entity_sidecar, entity_worker, entity_client,
):
    # Without work item filters the worker receives the batch of an entity it lacks.
    entity_worker(orchestrators=[calls_an_unregistered_entity], filtered=False)

    failed = _run(entity_client, calls_an_unregistered_entity, entity_sidecar.key("nobody"))

    assert failed.runtime_status == FAILED
    entity_failure = failed.failure_details.inner_failure.inner_failure
    assert entity_failure.error_type == "durabletask.worker.EntityNotRegisteredError"
    assert entity_failure.message == (
        "Entity function named 'nobody_registered' was not registered!")


def transfer(ctx: task.OrchestrationContext, keys: list[str]):
    source, target = (EntityInstanceId("Account", key) for key in keys)
    with (yield ctx.lock_entities([target, source])):
        yield ctx.call_entity(source, "withdraw", 10)
        yield ctx.call_entity(target, "deposit", 10)
    return [(yield ctx.call_entity(source, "balance")), (yield ctx.call_entity(target, "balance"))]


def fails_while_holding_locks(ctx: task.OrchestrationContext, key: str):
    with (yield ctx.lock_entities([EntityInstanceId("Account", key)])):
        raise RuntimeError("crashed inside the critical section")


def locks_across_continue_as_new(ctx: task.OrchestrationContext, state: list):
    key, round = state
    account = EntityInstanceId("Account", key)
    with (yield ctx.lock_entities([account])):
        yield ctx.call_entity(account, "deposit", 1)
        if round < 2:
            ctx.continue_as_new([key, round + 1])
            return None
    return (yield ctx.call_entity(account, "balance"))


def test_critical_sections_lock_in_order_and_unlock_on_exit_failure_and_continue_as_new(
    entity_sidecar, entity_worker, entity_client,
):
    entity_worker(
        orchestrators=[transfer, fails_while_holding_locks, locks_across_continue_as_new],
        entities=[Account],
    )
    source, target = entity_sidecar.key("src"), entity_sidecar.key("dst")
    entity_client.signal_entity(EntityInstanceId("Account", source), "deposit", input=25)
    _wait_for_state(entity_client, EntityInstanceId("Account", source), 25)

    moved = _run(entity_client, transfer, [source, target])
    crashed = _run(entity_client, fails_while_holding_locks, source)
    # Each run needs the lock the previous one held: they complete only if it was released.
    looped = _run(entity_client, locks_across_continue_as_new, [source, 0])
    again = _run(entity_client, transfer, [source, target])

    assert moved.runtime_status == COMPLETED, moved.failure_details
    assert json.loads(moved.serialized_output) == [15, 10]
    assert crashed.runtime_status == FAILED
    assert crashed.failure_details.message == "crashed inside the critical section"
    assert looped.runtime_status == COMPLETED, looped.failure_details
    assert json.loads(looped.serialized_output) == 18
    assert json.loads(again.serialized_output) == [8, 20]
    for key in (source, target):
        metadata = entity_client.get_entity(EntityInstanceId("Account", key))
        assert metadata is not None
        assert metadata.locked_by is None


def report_balance(ctx: task.OrchestrationContext, target: str):
    return (yield ctx.call_entity(EntityInstanceId.parse(target), "balance"))


def test_an_entity_signals_entities_and_starts_orchestrations_after_its_operation(
    entity_sidecar, entity_worker, entity_client,
):
    entity_worker(orchestrators=[report_balance], entities=[Account])
    source = EntityInstanceId("Account", entity_sidecar.key("from"))
    target = EntityInstanceId("Account", entity_sidecar.key("to"))

    entity_client.signal_entity(source, "deposit", input=7)
    entity_client.signal_entity(source, "forward", input=str(target))
    _wait_for_state(entity_client, target, 7)
    report = entity_client.wait_for_orchestration_completion(f"report-{target}", timeout=TIMEOUT)

    assert report is not None
    assert report.runtime_status == COMPLETED
    assert json.loads(report.serialized_output) == 7


class Clock(DurableEntity):
    def stamp(self) -> None:
        self.set_state(datetime.now(timezone.utc).isoformat())


def signals_later(ctx: task.OrchestrationContext, key: str):
    ctx.signal_entity(EntityInstanceId("Clock", key), "stamp",
                      signal_time=ctx.current_utc_datetime + timedelta(seconds=1))


def test_delayed_signals_run_no_earlier_than_their_signal_time(
    entity_sidecar, entity_worker, entity_client,
):
    entity_worker(orchestrators=[signals_later], entities=[Clock])
    from_client = EntityInstanceId("Clock", entity_sidecar.key("client"))
    from_orchestration = EntityInstanceId("Clock", entity_sidecar.key("orch"))

    client_due = datetime.now(timezone.utc) + timedelta(seconds=1)
    entity_client.signal_entity(from_client, "stamp", signal_time=client_due)
    orchestration_started = datetime.now(timezone.utc)
    _run(entity_client, signals_later, from_orchestration.key)

    client_ran = poll_until(lambda: _state(entity_client, from_client), timeout=TIMEOUT,
                            message="the delayed client signal")
    orchestration_ran = poll_until(lambda: _state(entity_client, from_orchestration),
                                   timeout=TIMEOUT, message="the delayed orchestration signal")
    assert datetime.fromisoformat(client_ran) >= client_due
    assert datetime.fromisoformat(orchestration_ran) >= orchestration_started + timedelta(
        seconds=1)


def test_get_all_entities_filters_by_prefix_and_time_and_follows_pages(
    entity_sidecar, entity_worker, entity_client,
):
    entity_worker(entities=[tally])
    ids = [EntityInstanceId("tally", entity_sidecar.key(f"q{n}")) for n in range(3)]
    for n, entity_id in enumerate(ids):
        entity_client.signal_entity(entity_id, "add", input=n + 1)
    for n, entity_id in enumerate(ids):
        _wait_for_state(entity_client, entity_id, n + 1)
    prefix = f"@tally@{entity_sidecar.prefix}-q"

    paged = entity_client.get_all_entities(
        client.EntityQuery(instance_id_starts_with=prefix, page_size=2))
    stateless = entity_client.get_all_entities(
        client.EntityQuery(instance_id_starts_with=prefix, include_state=False))
    future = entity_client.get_all_entities(client.EntityQuery(
        instance_id_starts_with=prefix,
        last_modified_from=datetime.now(timezone.utc) + timedelta(hours=1)))

    assert sorted((e.id.key, e.get_typed_state()) for e in paged) == [
        (entity_id.key, n + 1) for n, entity_id in enumerate(ids)]
    assert sorted(e.id.key for e in stateless) == [entity_id.key for entity_id in ids]
    assert all(e.includes_state is False and e.get_state() is None for e in stateless)
    assert future == []


def test_clean_entity_storage_removes_entities_without_state(
    entity_sidecar, entity_worker, entity_client,
):
    entity_worker(entities=[tally])
    emptied = EntityInstanceId("tally", entity_sidecar.key("emptied"))
    kept = EntityInstanceId("tally", entity_sidecar.key("kept"))
    for entity_id in (emptied, kept):
        entity_client.signal_entity(entity_id, "add", input=1)
    entity_client.signal_entity(emptied, "delete")
    _wait_for_state(entity_client, kept, 1)
    poll_until(lambda: (m := entity_client.get_entity(emptied)) is None
               or m.get_typed_state() is None, timeout=TIMEOUT, message="the deleted state")

    result = entity_client.clean_entity_storage(release_orphaned_locks=False)

    assert result.empty_entities_removed >= 1
    assert result.orphaned_locks_released == 0
    assert entity_client.get_entity(emptied) is None
    assert _state(entity_client, kept) == 1
