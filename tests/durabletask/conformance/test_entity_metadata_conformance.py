"""EntityMetadata state accessors as 1.12.0 defines them (entities/entity_metadata.py)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from durabletask.entities import EntityInstanceId, EntityMetadata

WHEN = datetime(2025, 1, 1, tzinfo=timezone.utc)


def _metadata(state: str | None, includes_state: bool = True) -> EntityMetadata:
    return EntityMetadata(EntityInstanceId("counter", "k"), WHEN, 0, None, includes_state, state)


def test_get_state_returns_the_stored_json_string_unchanged():
    # 1.12.0: "With no argument the raw payload is returned unchanged".
    assert _metadata('"hello"').get_state() == '"hello"'
    assert _metadata('{"count": 4}').get_state() == '{"count": 4}'


def test_get_state_with_a_type_coerces_the_stored_string_with_its_constructor():
    # 1.12.0: "passing intended_type applies the legacy constructor-based coercion".
    assert _metadata("5").get_state(int) == 5
    assert _metadata('"x"').get_state(str) == '"x"'  # already a str: returned as is


def test_a_failing_coercion_is_a_type_error_naming_both_types():
    # 1.12.0: TypeError "Could not convert state of type 'str' to 'int'".
    with pytest.raises(TypeError, match="Could not convert state of type 'str' to 'int'"):
        _metadata('{"count": 4}').get_state(int)


def test_get_typed_state_decodes_the_json():
    # 1.12.0: get_typed_state deserializes the payload with the data converter.
    assert _metadata('{"count": 4}').get_typed_state() == {"count": 4}
    assert _metadata('"hello"').get_typed_state() == "hello"


def test_no_state_is_none_for_both_accessors():
    assert _metadata(None).get_state() is None
    assert _metadata(None).get_typed_state() is None
    assert _metadata('"x"', includes_state=False).get_state() is None
