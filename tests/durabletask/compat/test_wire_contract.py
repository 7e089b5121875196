"""Our generated descriptors agree, entry by entry, with the reference wire contract.

The reference (``shared/reference/wire_contract.json``, beside the repository root) was
extracted from the upstream ``orchestrator_service.proto``. Every message (nested and map
entries included), field, oneof, reserved range, enum value and RPC is compared, so a
renumbered field or a changed streaming flag fails with a message naming it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import descriptor_pb2

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc

# tests/durabletask/compat/<this file>: parents[3] is the repo root; shared/ sits beside it.
REFERENCE_PATH = Path(__file__).resolve().parents[3].parent / "shared/reference/wire_contract.json"


def _load_reference() -> dict[str, Any] | None:
    if not REFERENCE_PATH.is_file():
        return None
    return json.loads(REFERENCE_PATH.read_text(encoding="utf-8"))


REFERENCE = _load_reference()
_SKIP_REASON = (
    f"wire contract reference not found at {REFERENCE_PATH}: clone the 'shared' folder "
    "beside the repository to run the wire-compatibility tests"
)


def _params(entries: list[dict[str, Any]] | None, key: str) -> list[Any]:
    if REFERENCE is None or entries is None:
        return [pytest.param(None, id="no-reference", marks=pytest.mark.skip(reason=_SKIP_REASON))]
    return [pytest.param(entry, id=entry[key].lstrip(".")) for entry in entries]


def _reference() -> dict[str, Any]:
    if REFERENCE is None:
        pytest.skip(_SKIP_REASON)
    return REFERENCE


# ---------------------------------------------------------------- our side, same shape


def _file_proto() -> descriptor_pb2.FileDescriptorProto:
    return descriptor_pb2.FileDescriptorProto.FromString(pb.DESCRIPTOR.serialized_pb)


def _enum_name(enum_value: int, enum_type: Any, prefix: str) -> str:
    return enum_type.Name(enum_value).removeprefix(prefix).lower()


def _field_entry(
    field: descriptor_pb2.FieldDescriptorProto,
    message: descriptor_pb2.DescriptorProto,
    full_name: str,
    map_entries: dict[str, descriptor_pb2.DescriptorProto],
) -> dict[str, Any]:
    runtime = pb.DESCRIPTOR.pool.FindMessageTypeByName(full_name.lstrip("."))
    entry: dict[str, Any] = {
        "name": field.name,
        "number": field.number,
        "type": _enum_name(field.type, descriptor_pb2.FieldDescriptorProto.Type, "TYPE_"),
        "label": _enum_name(field.label, descriptor_pb2.FieldDescriptorProto.Label, "LABEL_"),
        "json_name": runtime.fields_by_name[field.name].json_name,
    }
    if field.type_name:
        entry["type_name"] = field.type_name
    if field.HasField("oneof_index"):
        entry["oneof_index"] = field.oneof_index
        entry["oneof_name"] = message.oneof_decl[field.oneof_index].name
    if field.options.deprecated:
        entry["deprecated"] = True
    if field.proto3_optional:
        entry["proto3_optional"] = True
    map_entry = map_entries.get(field.type_name)
    if map_entry is not None:
        entry["map"] = _map_types(map_entry)
    return entry


def _map_types(map_entry: descriptor_pb2.DescriptorProto) -> dict[str, str]:
    key, value = sorted(map_entry.field, key=lambda f: f.number)
    types = {
        "key_type": _enum_name(key.type, descriptor_pb2.FieldDescriptorProto.Type, "TYPE_"),
        "value_type": _enum_name(value.type, descriptor_pb2.FieldDescriptorProto.Type, "TYPE_"),
    }
    if value.type_name:
        types["value_type_name"] = value.type_name
    return types


def _message_entries(
    message: descriptor_pb2.DescriptorProto, parent: str | None
) -> list[dict[str, Any]]:
    full_name = f"{parent or ''}.{message.name}"
    map_entries = {
        f"{full_name}.{nested.name}": nested
        for nested in message.nested_type
        if nested.options.map_entry
    }
    entry = {
        "name": message.name,
        "full_name": full_name,
        "parent": parent,
        "map_entry": message.options.map_entry,
        "fields": [_field_entry(f, message, full_name, map_entries) for f in message.field],
        "oneofs": [{"index": i, "name": o.name} for i, o in enumerate(message.oneof_decl)],
        # descriptor ranges are end-exclusive; the reference writes them inclusive.
        "reserved_ranges": [[r.start, r.end - 1] for r in message.reserved_range],
        "reserved_names": list(message.reserved_name),
        "nested_messages": [n.name for n in message.nested_type],
        "nested_enums": [e.name for e in message.enum_type],
    }
    entries = [entry]
    for nested in message.nested_type:
        entries.extend(_message_entries(nested, full_name))
    return entries


def _our_messages() -> dict[str, dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for message in _file_proto().message_type:
        entries.extend(_message_entries(message, None))
    return {entry["full_name"]: entry for entry in entries}


OUR_MESSAGES = _our_messages()


# ---------------------------------------------------------------- comparison


def _field_differences(message: str, ours: list[dict], theirs: list[dict]) -> list[str]:
    ours_by_name = {f["name"]: f for f in ours}
    theirs_by_name = {f["name"]: f for f in theirs}
    problems = [
        f"{message}: missing field {name!r} (number {f['number']})"
        for name, f in theirs_by_name.items() if name not in ours_by_name
    ]
    problems += [
        f"{message}: extra field {name!r} (number {f['number']}) not in the reference"
        for name, f in ours_by_name.items() if name not in theirs_by_name
    ]
    for name in theirs_by_name.keys() & ours_by_name.keys():
        mine, reference = ours_by_name[name], theirs_by_name[name]
        for key in sorted(mine.keys() | reference.keys()):
            if mine.get(key) != reference.get(key):
                problems.append(
                    f"{message}.{name}: {key} is {mine.get(key)!r}, "
                    f"the reference has {reference.get(key)!r}"
                )
    return problems


def _message_differences(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    name = theirs["full_name"]
    problems = []
    for key in ("name", "parent", "map_entry", "oneofs", "reserved_ranges", "reserved_names",
                "nested_messages", "nested_enums"):
        if ours[key] != theirs[key]:
            problems.append(f"{name}: {key} is {ours[key]!r}, the reference has {theirs[key]!r}")
    return problems + _field_differences(name, ours["fields"], theirs["fields"])


@pytest.mark.parametrize(
    "reference_message", _params(REFERENCE and REFERENCE["messages"], "full_name")
)
def test_wire_contract_message_matches_reference(reference_message):
    ours = OUR_MESSAGES.get(reference_message["full_name"])

    assert ours is not None, (
        f"message {reference_message['full_name']} of the reference contract is missing "
        "from protos/orchestrator_service.proto"
    )
    problems = _message_differences(ours, reference_message)
    assert not problems, "wire contract differences:\n  " + "\n  ".join(problems)


def test_wire_contract_defines_no_messages_beyond_the_reference():
    reference = {m["full_name"] for m in _reference()["messages"]}

    extra = sorted(set(OUR_MESSAGES) - reference)

    assert not extra, f"messages not in the reference contract: {extra}"


@pytest.mark.parametrize("reference_enum", _params(REFERENCE and REFERENCE["enums"], "full_name"))
def test_wire_contract_enum_matches_reference(reference_enum):
    ours = {e.name: e for e in _file_proto().enum_type}
    enum = ours.get(reference_enum["name"])

    assert enum is not None, f"enum {reference_enum['full_name']} is missing"
    our_values = {v.name: v.number for v in enum.value}
    their_values = {v["name"]: v["number"] for v in reference_enum["values"]}
    assert our_values == their_values, (
        f"enum {reference_enum['name']}: ours {our_values}, reference {their_values}"
    )


def test_wire_contract_file_level_facts_match_reference():
    reference = _reference()
    proto = _file_proto()

    assert proto.package == reference["package"] == "", "the proto must not declare a package"
    assert proto.syntax == reference["source"]["syntax"]
    assert list(proto.dependency) == reference["dependencies"]
    assert proto.options.go_package == reference["go_package"]
    assert sorted(e.name for e in proto.enum_type) == sorted(e["name"] for e in reference["enums"])
    assert len(OUR_MESSAGES) == reference["counts"]["messages_total_incl_nested_and_map_entries"]
    fields = sum(len(m["fields"]) for m in OUR_MESSAGES.values())
    assert fields == reference["counts"]["fields_total"]


def _our_methods() -> dict[str, descriptor_pb2.MethodDescriptorProto]:
    (service,) = _file_proto().service
    return {method.name: method for method in service.method}


@pytest.mark.parametrize(
    "reference_method",
    _params(REFERENCE and REFERENCE["services"][0]["methods"], "name"),
)
def test_wire_contract_rpc_matches_reference(reference_method):
    method = _our_methods().get(reference_method["name"])

    assert method is not None, f"RPC {reference_method['name']} is missing from the service"
    ours = {
        "input_type": method.input_type,
        "output_type": method.output_type,
        "client_streaming": method.client_streaming,
        "server_streaming": method.server_streaming,
    }
    theirs = {key: reference_method[key] for key in ours}
    assert ours == theirs, f"RPC {method.name}: ours {ours}, reference {theirs}"


def test_wire_contract_service_has_exactly_the_reference_rpcs():
    (reference_service,) = _reference()["services"]
    (service,) = _file_proto().service

    assert service.name == reference_service["name"] == "TaskHubSidecarService"
    assert [m.name for m in service.method] == [m["name"] for m in reference_service["methods"]]
    assert len(service.method) == len(reference_service["methods"]) == 29


class _RecordingChannel:
    """Records the method paths a generated stub registers (no network involved)."""

    def __init__(self) -> None:
        self.paths: dict[str, str] = {}

    def _record(self, kind: str) -> Any:
        def register(path: str, *args: Any, **kwargs: Any) -> object:
            self.paths[path] = kind
            return object()

        return register

    def __getattr__(self, kind: str) -> Any:
        if kind in ("unary_unary", "unary_stream", "stream_unary", "stream_stream"):
            return self._record(kind)
        raise AttributeError(kind)


def test_wire_contract_generated_stub_uses_the_reference_grpc_paths():
    (reference_service,) = _reference()["services"]
    channel = _RecordingChannel()

    pb_grpc.TaskHubSidecarServiceStub(channel)

    expected = {
        m["grpc_path"]: ("unary_stream" if m["server_streaming"] else "unary_unary")
        for m in reference_service["methods"]
    }
    assert channel.paths == expected
