"""durabletask.serialization as in 1.12.0: enums, clear TypeErrors, best-effort reads."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Optional

import pytest

from durabletask.serialization import DataConverter, JsonDataConverter

CONVERTER = JsonDataConverter()


class Color(enum.IntEnum):
    RED = 1


class Status(str, enum.Enum):
    ACTIVE = "active"


class Plain(enum.Enum):
    ON = "on"


@dataclass
class Order:
    item: str
    quantity: int


@dataclass
class Tagged:
    status: Status
    history: list[Status]
    previous: Optional[Status] = None


def test_enums_serialise_to_their_values_and_rebuild_from_the_target_type():
    # 1.12.0 (test_data_converter_roundtrip enum cases): the wire holds the member's value;
    # reading with the enum type rebuilds the member, also inside dataclasses and lists.
    assert CONVERTER.serialize(Plain.ON) == '"on"'
    assert CONVERTER.deserialize("1", Color) is Color.RED
    assert CONVERTER.deserialize('"active"', Status) is Status.ACTIVE
    value = Tagged(Status.ACTIVE, [Status.ACTIVE], None)
    assert CONVERTER.deserialize(CONVERTER.serialize(value), Tagged) == value


@pytest.mark.parametrize("value", [datetime(2020, 1, 1), Decimal("1.5"), {1}, frozenset({1}),
                                   b"x"])
def test_unsupported_values_raise_a_type_error_naming_the_type(value):
    # 1.12.0: sets, bytes, datetimes, Decimals need a to_json hook; the TypeError names them.
    with pytest.raises(TypeError, match=type(value).__name__):
        CONVERTER.serialize(value)


def test_reads_fall_back_to_the_raw_value_and_log_it(caplog):
    # 1.12.0 (test_data_converter::test_deserialize_best_effort_falls_back_to_raw): a value
    # that cannot be rebuilt comes back as parsed JSON, with a debug log saying "coerce".
    with caplog.at_level(logging.DEBUG, logger="durabletask"):
        assert CONVERTER.deserialize('{"item": "x"}', Order) == {"item": "x"}
        assert CONVERTER.coerce({"item": "x"}, Order) == {"item": "x"}
    assert any("coerce" in record.getMessage().lower() for record in caplog.records)


def test_only_json_converter_claims_reconstructable_types():
    # 1.12.0: DataConverter.can_reconstruct is False; JsonDataConverter claims dataclasses
    # and from_json types, also inside Optional and list, never builtins or enums.
    class Custom(DataConverter):
        def serialize(self, value):
            return None

        def deserialize(self, data, target_type=None):
            return data

        def coerce(self, value, target_type=None):
            return value

    assert not Custom().can_reconstruct(Order)
    assert CONVERTER.can_reconstruct(Order)
    assert CONVERTER.can_reconstruct(Optional[Order])
    assert CONVERTER.can_reconstruct(list[Order])
    assert not CONVERTER.can_reconstruct(int)
    assert not CONVERTER.can_reconstruct(Status)


def test_from_json_hooks_get_the_converter_only_when_they_name_it():
    # 1.12.0: a second parameter named exactly `converter` receives the converter.
    class WithConverter:
        @classmethod
        def from_json(cls, value, converter):
            return ("converter", converter is CONVERTER, value)

    class WithOption:
        @classmethod
        def from_json(cls, value, strict=False):
            return ("plain", strict, value)

    assert CONVERTER.deserialize("1", WithConverter) == ("converter", True, 1)
    assert CONVERTER.deserialize("1", WithOption) == ("plain", False, 1)


def test_a_multi_member_union_is_not_forced_to_its_first_member():
    # 1.12.0: only Optional[T] is coerced; a value matching no member of a wider union
    # stays as parsed.
    assert CONVERTER.deserialize('{"item": "x", "quantity": 1}', Order | int) == {
        "item": "x", "quantity": 1}
    assert CONVERTER.deserialize('{"item": "x", "quantity": 1}', Optional[Order]) == Order("x", 1)
