"""Large payloads end to end: our client and worker with a folder store, our embedded sidecar.

Every boundary where the official SDK externalizes is crossed by a payload above the
threshold: orchestration input and output, activity input and result, sub-orchestration
input and output, external event data, custom status, continue-as-new input, terminate
output, entity operation input, result and state. The sidecar only ever holds tokens.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from durabletask import client, history, task
from durabletask.entities import EntityContext, EntityInstanceId
from durabletask.payload import FilePayloadStore
from durabletask.testing import InMemoryOrchestrationBackend
from tests.durabletask.payloads.conftest import THRESHOLD_BYTES, payload_files

pytestmark = pytest.mark.slow

BIG = 3 * THRESHOLD_BYTES
TIMEOUT = 30
COMPLETED = client.OrchestrationStatus.COMPLETED


def shout(ctx: task.ActivityContext, text: str) -> str:
    return text.upper() + "!" * BIG


def reverse(ctx: task.OrchestrationContext, text: str) -> str:
    return text[::-1]


def every_boundary(ctx: task.OrchestrationContext, text: str) -> Any:
    ctx.set_custom_status({"progress": "s" * BIG})
    loud = yield ctx.call_activity(shout, input=text)
    backwards = yield ctx.call_sub_orchestrator(reverse, input=loud)
    extra = yield ctx.wait_for_external_event("extra")
    return {"backwards": backwards, "extra": extra}


def grow(ctx: task.OrchestrationContext, parts: list[str]) -> int:
    if len(parts) < 3:
        ctx.continue_as_new(parts + ["p" * BIG])
        return 0
    return sum(len(p) for p in parts)


def _tokens_only(sidecar: InMemoryOrchestrationBackend, instance_id: str) -> list[str | None]:
    with client.TaskHubGrpcClient(host_address=sidecar.address) as plain:
        state = plain.get_orchestration_state(instance_id)
    assert state is not None
    return [state.serialized_input, state.serialized_output, state.serialized_custom_status]


def test_every_orchestration_boundary_round_trips_and_the_sidecar_holds_only_tokens(
    sidecar: InMemoryOrchestrationBackend, make_worker: Any, file_store: FilePayloadStore,
) -> None:
    make_worker([every_boundary, reverse, grow], [shout], payload_store=file_store).start()
    text = "a" * BIG
    with client.TaskHubGrpcClient(host_address=sidecar.address, payload_store=file_store) as c:
        instance_id = c.schedule_new_orchestration(every_boundary, input=text)
        c.wait_for_orchestration_start(instance_id, timeout=TIMEOUT)
        c.raise_orchestration_event(instance_id, "extra", data="e" * BIG)
        state = c.wait_for_orchestration_completion(instance_id, timeout=TIMEOUT)
        looped = c.wait_for_orchestration_completion(
            c.schedule_new_orchestration(grow, input=[]), timeout=TIMEOUT)
        events = c.get_orchestration_history(instance_id)

    assert state is not None
    assert state.runtime_status == COMPLETED
    assert state.get_output() == {"backwards": ("A" * BIG + "!" * BIG)[::-1], "extra": "e" * BIG}
    assert state.get_custom_status() == {"progress": "s" * BIG}
    assert looped is not None
    assert looped.get_output() == 3 * BIG
    completed = [e for e in events if isinstance(e, history.TaskCompletedEvent)]
    assert [json.loads(e.result or "") for e in completed] == ["A" * BIG + "!" * BIG]
    assert all(file_store.is_known_token(v or "") for v in _tokens_only(sidecar, instance_id))
    # Input, activity input and result, child input and output, event, status, output.
    assert len(payload_files(file_store)) >= 8


def test_terminate_output_and_async_client_use_the_store(
    sidecar: InMemoryOrchestrationBackend, make_worker: Any, file_store: FilePayloadStore,
) -> None:
    def waits(ctx: task.OrchestrationContext, _: Any) -> Any:
        return (yield ctx.wait_for_external_event("never"))

    make_worker([waits], payload_store=file_store).start()

    async def run() -> client.OrchestrationState | None:
        async with client.AsyncTaskHubGrpcClient(
                host_address=sidecar.address, payload_store=file_store) as c:
            instance_id = await c.schedule_new_orchestration(waits, input="i" * BIG)
            await c.wait_for_orchestration_start(instance_id, timeout=TIMEOUT)
            await c.terminate_orchestration(instance_id, output="t" * BIG)
            return await c.wait_for_orchestration_completion(instance_id, timeout=TIMEOUT)

    state = asyncio.run(run())

    assert state is not None
    assert state.runtime_status == client.OrchestrationStatus.TERMINATED
    assert (state.get_input(), state.get_output()) == ("i" * BIG, "t" * BIG)


def ledger(ctx: EntityContext, entry: Any) -> Any:
    """Keeps a large list of entries; 'count' only reads it."""
    entries = ctx.get_state(list, [])
    if ctx.operation == "append":
        ctx.set_state(entries + [entry])
        return "r" * BIG
    return len(entries)


def test_entity_state_input_and_result_round_trip_and_unchanged_state_is_not_rewritten(
    sidecar: InMemoryOrchestrationBackend, make_worker: Any, file_store: FilePayloadStore,
) -> None:
    entity = EntityInstanceId("ledger", "big")

    def use_ledger(ctx: task.OrchestrationContext, _: Any) -> Any:
        appended = yield ctx.call_entity(entity, "append", "n" * BIG)
        count = yield ctx.call_entity(entity, "count")
        return [len(appended), count]

    worker = make_worker([use_ledger], payload_store=file_store)
    worker.add_entity(ledger)
    worker.start()
    with client.TaskHubGrpcClient(host_address=sidecar.address, payload_store=file_store) as c:
        c.signal_entity(entity, "append", "m" * BIG)
        state = c.wait_for_orchestration_completion(
            c.schedule_new_orchestration(use_ledger), timeout=TIMEOUT)
        before = len(payload_files(file_store))
        second = c.wait_for_orchestration_completion(
            c.schedule_new_orchestration(use_ledger), timeout=TIMEOUT)
        metadata = c.get_entity(entity)

    assert state is not None
    assert state.get_output() == [BIG, 2]
    assert second is not None
    assert second.get_output() == [BIG, 3]
    assert metadata is not None
    assert metadata.get_typed_state(list) == ["m" * BIG] + ["n" * BIG] * 2
    # The second run stores the append's input, the new state and the append's result;
    # the 'count' batch leaves the state as it was, so its token is kept, not rewritten.
    assert len(payload_files(file_store)) - before == 3
