"""Class-based and function entities: operation dispatch, input passing and built-ins."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from durabletask.entities import DurableEntity, EntityContext, EntityInstanceId
from durabletask.entities.durable_entity import (
    EntityOperationNotFoundError,
    execute_entity_operation,
)
from durabletask.entities.state_shim import StateShim


@dataclass
class Amount:
    value: int


class Counter(DurableEntity):
    def add(self, amount: int) -> int:
        total = self.get_state(int, 0) + amount
        self.set_state(total)
        return total

    def add_amount(self, amount: Amount) -> int:
        return self.add(amount.value)

    def get(self) -> int:
        return self.get_state(int, 0)

    def reset(self, to: int = 0) -> None:
        self.set_state(to)

    def notify(self, target: str) -> str:
        self.signal_entity(EntityInstanceId.parse(target), "ping", 1)
        return self.schedule_new_orchestration("audit", None, instance_id="audit-1")

    def _secret(self) -> str:
        return "hidden"


def _run(entity, operation: str, encoded_input: str | None = None, state: StateShim | None = None):
    state = state if state is not None else StateShim()
    entity_id = EntityInstanceId("counter", "k")
    context = EntityContext(str(entity_id), operation, state, entity_id)
    return execute_entity_operation(entity, context, encoded_input), state


def test_durable_entity_dispatches_the_operation_by_method_name():
    result, state = _run(Counter, "add", "5", StateShim("10"))

    assert result == 15
    assert state.encoded_state == "15"


def test_durable_entity_dispatch_matches_operation_names_case_insensitively():
    result, _ = _run(Counter, "Get", None, StateShim("4"))

    assert result == 4


def test_durable_entity_dispatch_decodes_input_into_the_annotated_type():
    result, _ = _run(Counter, "add_amount", json.dumps({"value": 3}))

    assert result == 3


def test_durable_entity_dispatch_omits_a_none_input_for_an_optional_parameter():
    _, state = _run(Counter, "reset", None, StateShim("10"))

    assert state.encoded_state == "0"


def test_durable_entity_dispatch_passes_none_to_a_required_parameter():
    class Echo(DurableEntity):
        def echo(self, value):
            return ("got", value)

    result, _ = _run(Echo, "echo", None)

    assert result == ("got", None)


def test_durable_entity_dispatch_raises_for_an_unknown_operation():
    with pytest.raises(EntityOperationNotFoundError, match="no operation 'missing'"):
        _run(Counter, "missing")


def test_durable_entity_dispatch_never_calls_private_methods():
    with pytest.raises(EntityOperationNotFoundError):
        _run(Counter, "_secret")


def test_durable_entity_builtin_delete_clears_the_state():
    _, state = _run(Counter, "delete", json.dumps("ignored"), StateShim("10"))

    assert state.encoded_state is None


def test_durable_entity_dispatch_accepts_an_instance_and_sets_its_context():
    counter = Counter()

    result, _ = _run(counter, "get", None, StateShim("2"))

    assert result == 2
    assert counter.entity_context is not None
    assert counter.entity_context.operation == "get"


def test_durable_entity_helpers_record_actions_through_the_context():
    result, state = _run(Counter, "notify", json.dumps("@other@x"))

    assert result == "audit-1"
    signal, start = state.get_operation_actions()
    assert signal.sendSignal.instanceId == "@other@x"
    assert start.startNewOrchestration.instanceId == "audit-1"


def test_durable_entity_state_access_outside_an_operation_raises_a_clear_error():
    with pytest.raises(RuntimeError, match="only set while an entity operation runs"):
        Counter().get_state()


def test_function_entity_receives_the_context_and_the_decoded_input():
    def counter(ctx: EntityContext, amount: int) -> int:
        if ctx.operation == "add":
            ctx.set_state(ctx.get_state(int, 0) + amount)
        return ctx.get_state(int, 0)

    result, state = _run(counter, "add", "7", StateShim("1"))

    assert result == 8
    assert state.encoded_state == "8"


def test_function_entity_with_only_a_context_parameter_is_called_without_input():
    def pinger(ctx: EntityContext) -> str:
        return ctx.operation

    result, _ = _run(pinger, "ping", "1")

    assert result == "ping"
