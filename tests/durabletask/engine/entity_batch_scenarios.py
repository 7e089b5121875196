"""Entities and entity work items whose results are compared with the official worker's.

Like ``entity_scenarios``, this module uses only the public API shared by both SDKs; the
work items are plain data (turned into protobuf messages by whoever runs them):
``golden_entities/record_official.py`` runs them through the OFFICIAL worker's entity
batch execution and ``test_entity_golden.py`` through our ``EntityExecutor``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from durabletask.entities import DurableEntity, EntityContext, EntityInstanceId


def counter(ctx: EntityContext, amount: Any) -> Any:
    if ctx.operation == "add":
        ctx.set_state(ctx.get_state(int, 0) + amount)
    elif ctx.operation == "fail_after_write":
        ctx.set_state(-1)
        ctx.signal_entity(EntityInstanceId("audit", "k"), "record", "lost")
        raise ValueError("bad amount")
    elif ctx.operation == "notify":
        ctx.signal_entity(EntityInstanceId("audit", "k"), "record", amount)
        ctx.schedule_new_orchestration("report", amount, instance_id="report-1")
    elif ctx.operation == "delete":
        ctx.set_state(None)
    elif ctx.operation == "peek":
        return ctx.get_state()
    return ctx.get_state(int, 0)


@dataclass
class Amount:
    value: int


class Account(DurableEntity):
    def deposit(self, amount: Amount) -> int:
        balance = self.get_state(int, 0) + amount.value
        self.set_state(balance)
        return balance

    def balance(self) -> int:
        return self.get_state(int, 0)

    def reset(self, to: int = 0) -> None:
        self.set_state(to)

    def echo(self, value):
        return ["got", value]

    limit = 10


ENTITIES = {"counter": counter, "Account": Account}
"""Registered name -> entity."""

# (instance id, state or None, operations as (name, input or None, request id), form)
# For the V2 form each operation is signalled, or called when a parent instance is given:
# (name, input, request id, parent instance id or None, parent execution id or None).
BATCHES: dict[str, dict[str, Any]] = {
    "v1_counter_with_a_failure": {
        "instance_id": "@counter@k", "state": "10", "form": "v1",
        "operations": [("add", "2", "r1"), ("fail_after_write", None, "r2"),
                       ("notify", "7", "r3"), ("add", "1", "r4"), ("get", None, "r5")],
    },
    "v2_signals_and_calls": {
        "instance_id": "@counter@k", "state": None, "form": "v2",
        "operations": [("add", "1", "s1", None, None),
                       ("get", None, "c1", "orch-1", "exec-1"),
                       ("get", None, "c2", "orch-2", None)],
    },
    "class_entity_dispatch": {
        "instance_id": "@account@k", "state": "1", "form": "v1",
        "operations": [("deposit", '{"value": 5}', "r1"), ("balance", None, "r2"),
                       ("reset", None, "r3"), ("echo", None, "r4"), ("Balance", None, "r5"),
                       ("missing", None, "r6"), ("limit", None, "r7"), ("balance", None, "r8")],
    },
    "unregistered_entity": {
        "instance_id": "@nobody@k", "state": None, "form": "v1",
        "operations": [("add", "1", "r1"), ("get", None, "r2")],
    },
    "state_passthrough_and_delete": {
        "instance_id": "@counter@k", "state": '{"b": 1,   "a": 2}', "form": "v2",
        "operations": [("peek", None, "s1", None, None), ("delete", None, "s2", None, None)],
    },
    "untouched_state_is_verbatim": {
        "instance_id": "@counter@k", "state": '{"b": 1,   "a": 2}', "form": "v1",
        "operations": [("peek", None, "r1")],
    },
}


def build_request(spec: dict[str, Any], pb: Any) -> Any:
    """Build the work item of ``spec`` with the protobuf module ``pb`` of either SDK."""
    if spec["form"] == "v1":
        request = pb.EntityBatchRequest(instanceId=spec["instance_id"])
        for name, value, request_id in spec["operations"]:
            added = request.operations.add(operation=name, requestId=request_id)
            if value is not None:
                added.input.value = value
    else:
        request = pb.EntityRequest(instanceId=spec["instance_id"])
        for name, value, request_id, parent, execution in spec["operations"]:
            event = request.operationRequests.add(eventId=-1)
            message = event.entityOperationCalled if parent else event.entityOperationSignaled
            message.requestId = request_id
            message.operation = name
            if value is not None:
                message.input.value = value
            if parent:
                message.parentInstanceId.value = parent
            if execution:
                message.parentExecutionId.value = execution
    if spec["state"] is not None:
        request.entityState.value = spec["state"]
    return request
