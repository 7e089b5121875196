"""EntityContext and its state holder: state access, recorded actions, commit and rollback."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from durabletask.entities import EntityContext, EntityInstanceId
from durabletask.entities.state_shim import StateShim


@dataclass
class Tally:
    count: int
    label: str = ""


def _context(serialized_state: str | None = None) -> tuple[EntityContext, StateShim]:
    entity_id = EntityInstanceId("counter", "k")
    state = StateShim(serialized_state)
    return EntityContext(str(entity_id), "add", state, entity_id), state


def test_entity_context_exposes_its_identity():
    context, _ = _context()

    assert context.orchestration_id == "@counter@k"
    assert context.operation == "add"
    assert context.entity_id == EntityInstanceId("counter", "k")


def test_entity_context_get_state_returns_default_when_there_is_no_state():
    context, _ = _context()

    assert context.get_state() is None
    assert context.get_state(int, 7) == 7


def test_entity_context_set_state_is_visible_and_encoded():
    context, state = _context("1")

    context.set_state(context.get_state(int) + 4)

    assert context.get_state() == 5
    assert state.encoded_state == "5"


def test_entity_context_get_state_rebuilds_the_intended_type():
    context, _ = _context(json.dumps({"count": 3, "label": "x"}))

    assert context.get_state(Tally) == Tally(count=3, label="x")


def test_entity_context_get_state_converts_plain_scalars():
    context, _ = _context("3")

    assert context.get_state(float) == 3.0
    assert context.get_state(str) == "3"


def test_entity_context_get_state_raises_type_error_when_not_convertible():
    context, _ = _context(json.dumps([1, 2]))

    with pytest.raises(TypeError, match="cannot be converted to int"):
        context.get_state(int)


def test_entity_context_signal_entity_records_a_send_signal_action():
    context, state = _context()
    target = EntityInstanceId("Other", "x")
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))

    context.signal_entity(target, "reset", {"to": 0}, signal_time=when)

    (action,) = state.get_operation_actions()
    assert action.id == 0  # official: operation actions carry no id
    assert action.sendSignal.instanceId == "@other@x"
    assert action.sendSignal.name == "reset"
    assert json.loads(action.sendSignal.input.value) == {"to": 0}
    assert action.sendSignal.scheduledTime.ToDatetime() == datetime(2030, 1, 2, 1, 4, 5)


def test_entity_context_signal_entity_without_input_leaves_input_unset():
    context, state = _context()

    context.signal_entity(EntityInstanceId("other", "x"), "ping")

    (action,) = state.get_operation_actions()
    assert not action.sendSignal.HasField("input")
    assert not action.sendSignal.HasField("scheduledTime")


def test_entity_context_signal_entity_rejects_a_string_entity_id():
    context, _ = _context()

    with pytest.raises(TypeError, match="EntityInstanceId"):
        context.signal_entity("@other@x", "ping")  # type: ignore[arg-type]


def test_entity_context_signal_entity_rejects_an_unserialisable_input():
    context, state = _context()

    with pytest.raises(TypeError, match="cannot serialise input of type object"):
        context.signal_entity(EntityInstanceId("other", "x"), "ping", object())
    assert state.get_operation_actions() == []


def test_entity_context_schedule_new_orchestration_records_the_action_and_returns_the_id():
    context, state = _context()

    instance_id = context.schedule_new_orchestration("report", {"n": 1}, instance_id="r-1")

    assert instance_id == "r-1"
    (action,) = state.get_operation_actions()
    assert action.startNewOrchestration.instanceId == "r-1"
    assert action.startNewOrchestration.name == "report"
    assert json.loads(action.startNewOrchestration.input.value) == {"n": 1}


def test_entity_context_schedule_new_orchestration_generates_a_hex_instance_id():
    context, state = _context()

    first = context.schedule_new_orchestration("report")
    second = context.schedule_new_orchestration("report")

    assert first != second
    assert len(first) == 32
    int(first, 16)
    assert len(state.get_operation_actions()) == 2


def test_entity_context_schedule_new_orchestration_rejects_an_empty_name():
    context, _ = _context()

    with pytest.raises(ValueError, match="orchestration_name"):
        context.schedule_new_orchestration("")


def test_state_shim_rollback_discards_state_and_actions_since_the_last_commit():
    context, state = _context("1")
    context.set_state(2)
    context.signal_entity(EntityInstanceId("other", "x"), "kept")
    state.commit()

    context.set_state(99)
    context.signal_entity(EntityInstanceId("other", "x"), "dropped")
    state.rollback()

    assert context.get_state() == 2
    assert [a.sendSignal.name for a in state.get_operation_actions()] == ["kept"]


def test_state_shim_rollback_undoes_in_place_mutation():
    context, state = _context(json.dumps({"items": []}))
    state.commit()

    context.get_state()["items"].append("x")
    state.rollback()

    assert context.get_state() == {"items": []}


def test_state_shim_setting_none_deletes_the_state():
    context, state = _context("1")

    context.set_state(None)

    assert state.encoded_state is None
