"""EntityInstanceId: validation, string form, parsing, ordering, equality and hashing."""

from __future__ import annotations

import copy
import pickle

import pytest

from durabletask.entities import EntityInstanceId


def test_entity_instance_id_lower_cases_the_name_but_keeps_the_key():
    entity_id = EntityInstanceId("Counter", "MyKey")

    assert entity_id.entity == "counter"
    assert entity_id.key == "MyKey"
    assert str(entity_id) == "@counter@MyKey"


def test_entity_instance_id_parse_round_trips_the_string_form():
    entity_id = EntityInstanceId("counter", "k1")

    assert EntityInstanceId.parse(str(entity_id)) == entity_id


def test_entity_instance_id_parse_keeps_at_signs_in_the_key():
    parsed = EntityInstanceId.parse("@Chat@room@lobby")

    assert parsed.entity == "chat"
    assert parsed.key == "room@lobby"


@pytest.mark.parametrize("text", ["counter@k", "@counter", "", "@@key", "@counter@"])
def test_entity_instance_id_parse_rejects_malformed_strings(text):
    # Official test_entity_id_parsing: an empty key ("@invalid@") is not an entity id.
    with pytest.raises(ValueError, match="@name@key|Entity name|Entity key|must start with '@'"):
        EntityInstanceId.parse(text)


@pytest.mark.parametrize("name", ["", "a@b", None])
def test_entity_instance_id_rejects_invalid_names(name):
    with pytest.raises(ValueError, match="Entity name"):
        EntityInstanceId(name, "key")


def test_entity_instance_id_rejects_a_non_string_key():
    with pytest.raises(ValueError, match="Entity key must be a string"):
        EntityInstanceId("counter", None)  # type: ignore[arg-type]


def test_entity_instance_id_validators_accept_valid_values_and_reject_an_empty_key():
    EntityInstanceId.validate_entity_name("counter")
    EntityInstanceId.validate_key("a@b")
    with pytest.raises(ValueError, match="Entity key cannot be empty"):
        EntityInstanceId.validate_key("")


def test_entity_instance_id_rejects_an_empty_key():
    # durabletask 1.12.0: validate_key raises "Entity key cannot be empty."
    with pytest.raises(ValueError, match="Entity key cannot be empty"):
        EntityInstanceId.parse("@counter@")


def test_entity_instance_id_equality_ignores_name_case_and_is_hash_consistent():
    first = EntityInstanceId("Counter", "k")
    second = EntityInstanceId("counter", "k")

    assert first == second
    assert hash(first) == hash(second)
    assert {first, second} == {first}
    assert {first: 1}[second] == 1


def test_entity_instance_id_differs_by_key_case_and_from_other_types():
    assert EntityInstanceId("counter", "k") != EntityInstanceId("counter", "K")
    assert EntityInstanceId("counter", "k") != "@counter@k"


def test_entity_instance_id_sorts_by_string_form():
    ids = [EntityInstanceId("b", "1"), EntityInstanceId("a", "2"), EntityInstanceId("a", "1")]

    assert [str(i) for i in sorted(ids)] == ["@a@1", "@a@2", "@b@1"]
    assert EntityInstanceId("a", "1") < EntityInstanceId("a", "2")


def test_entity_instance_id_comparison_with_other_types_raises_type_error():
    with pytest.raises(TypeError):
        _ = EntityInstanceId("a", "1") < "@a@1"


def test_entity_instance_id_is_immutable():
    entity_id = EntityInstanceId("counter", "k")

    with pytest.raises(AttributeError, match="immutable"):
        entity_id.key = "other"  # type: ignore[misc]


def test_entity_instance_id_survives_pickle_and_copy():
    entity_id = EntityInstanceId("counter", "k")

    assert pickle.loads(pickle.dumps(entity_id)) == entity_id
    assert copy.deepcopy(entity_id) == entity_id
    assert repr(entity_id) == "EntityInstanceId(entity='counter', key='k')"
