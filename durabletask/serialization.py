"""Pluggable conversion of user values to and from the JSON strings on the wire."""

from __future__ import annotations

import dataclasses
import inspect
import json
import types
import typing
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

__all__ = ["DEFAULT_DATA_CONVERTER", "DataConverter", "JsonDataConverter"]

# Payloads written by older SDK versions mark auto-serialised objects with this key.
_AUTO_OBJECT_MARKER = "__durabletask_autoobject__"


class DataConverter(ABC):
    """Converts inputs, outputs, event data and custom status to wire strings and back."""

    @abstractmethod
    def serialize(self, value: Any) -> str | None:
        """Return the wire form of ``value``, or ``None`` for ``None``.

        Raises:
            TypeError: ``value`` (or something inside it) cannot be serialised.
        """

    @abstractmethod
    def deserialize(self, data: str | None, target_type: type | None = None) -> Any:
        """Parse ``data`` and, when ``target_type`` is given, rebuild that type."""

    @abstractmethod
    def coerce(self, value: Any, target_type: type | None = None) -> Any:
        """Convert an already-parsed value into ``target_type`` when that is possible."""

    def can_reconstruct(self, target_type: Any) -> bool:
        """Return True when :meth:`coerce` can build ``target_type`` from plain JSON values."""
        return isinstance(target_type, type) and (
            dataclasses.is_dataclass(target_type) or hasattr(target_type, "from_json")
        )


def _encode_object(obj: Any) -> Any:
    to_json = getattr(obj, "to_json", None)
    if callable(to_json):
        return to_json()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, types.SimpleNamespace):
        return dict(vars(obj))
    if isinstance(obj, (set, frozenset)):
        return list(obj)
    raise TypeError(f"Object of type {type(obj).__qualname__} is not JSON serializable")


def _decode_hook(value: dict[str, Any]) -> Any:
    if value.get(_AUTO_OBJECT_MARKER):
        fields = {k: v for k, v in value.items() if k != _AUTO_OBJECT_MARKER}
        return types.SimpleNamespace(**fields)
    return value


class JsonDataConverter(DataConverter):
    """The default converter: JSON text, with dataclass and ``to_json``/``from_json`` hooks."""

    def serialize(self, value: Any) -> str | None:
        """Serialise ``value`` to compact-ish JSON (``{"x": [1, 2]}``)."""
        if value is None:
            return None
        return json.dumps(value, default=_encode_object)

    def deserialize(self, data: str | None, target_type: type | None = None) -> Any:
        """Parse JSON ``data``; ``None`` or an empty string gives ``None``."""
        if data is None or data == "":
            return None
        value = json.loads(data, object_hook=_decode_hook)
        return self.coerce(value, target_type)

    def coerce(self, value: Any, target_type: type | None = None) -> Any:
        """Rebuild dataclasses, ``from_json`` types and typed containers from JSON values."""
        if value is None or target_type is None or target_type is Any:
            return value
        origin = typing.get_origin(target_type)
        if origin is not None:
            return self._coerce_generic(value, target_type, origin)
        if not isinstance(target_type, type):
            return value
        from_json = getattr(target_type, "from_json", None)
        if callable(from_json):
            return _call_from_json(from_json, value, self)
        if dataclasses.is_dataclass(target_type) and isinstance(value, Mapping):
            return _build_dataclass(target_type, value, self)
        if target_type is types.SimpleNamespace and isinstance(value, Mapping):
            return types.SimpleNamespace(**value)
        if target_type in (tuple, set, frozenset) and isinstance(value, list):
            return target_type(value)
        return value

    def _coerce_generic(self, value: Any, target_type: Any, origin: Any) -> Any:
        args = typing.get_args(target_type)
        if origin in (list, set, frozenset, tuple) and isinstance(value, list):
            if origin is tuple and args and args[-1] is not Ellipsis:
                return tuple(self.coerce(v, t) for v, t in zip(value, args))
            item_type = args[0] if args else None
            return origin(self.coerce(v, item_type) for v in value)
        if origin in (dict, Mapping) and isinstance(value, Mapping) and len(args) == 2:
            return {k: self.coerce(v, args[1]) for k, v in value.items()}
        if origin in (typing.Union, types.UnionType):
            for arg in args:
                if arg is type(None):
                    continue
                if self.can_reconstruct(arg) and isinstance(value, Mapping):
                    return self.coerce(value, arg)
        return value


def _call_from_json(from_json: Any, value: Any, converter: DataConverter) -> Any:
    try:
        parameters = inspect.signature(from_json).parameters
    except (TypeError, ValueError):
        return from_json(value)
    if len(parameters) >= 2:
        return from_json(value, converter)
    return from_json(value)


def _build_dataclass(cls: type, value: Mapping[str, Any], converter: DataConverter) -> Any:
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # unresolvable forward references: fall back to raw values
        hints = {}
    kwargs = {}
    for field in dataclasses.fields(cls):
        if field.name in value and field.init:
            kwargs[field.name] = converter.coerce(value[field.name], hints.get(field.name))
    return cls(**kwargs)


DEFAULT_DATA_CONVERTER = JsonDataConverter()
"""The converter used when a client or worker is given none."""
