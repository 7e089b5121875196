"""Pluggable conversion of user values to and from the JSON strings on the wire."""

from __future__ import annotations

import dataclasses
import enum
import functools
import inspect
import json
import logging
import sys
import types
import typing
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

_logger = logging.getLogger("durabletask")

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
        """Return True when this converter can rebuild ``target_type`` from a payload.

        The worker passes a function's annotated input type (and an activity's return
        annotation) to :meth:`deserialize` only when this says True; otherwise the raw
        payload is passed. The base class claims nothing (False), as in 1.12.0; override
        it to teach the SDK your own types.
        """
        return False


def _encode_object(obj: Any) -> Any:
    # The hook is looked up on the type, so a data attribute named to_json is not a hook.
    to_json = getattr(type(obj), "to_json", None)
    if callable(to_json):
        return to_json(obj)
    if isinstance(obj, enum.Enum):
        return obj.value  # str and other non-int enums; IntEnum members are ints already
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        # Shallow, so nested values go through this hook (and their to_json) again.
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, types.SimpleNamespace):
        return dict(vars(obj))
    raise TypeError(f"Object of type '{type(obj).__name__}' is not JSON serializable")


def _legacy_hook(value: dict[str, Any]) -> Any:
    if value.pop(_AUTO_OBJECT_MARKER, False):
        return types.SimpleNamespace(**value)
    return value


def _strip_marker(value: dict[str, Any]) -> dict[str, Any]:
    value.pop(_AUTO_OBJECT_MARKER, None)
    return value


class JsonDataConverter(DataConverter):
    """The default converter: JSON text, with dataclass, enum and ``to_json``/``from_json`` hooks.

    Reading is best-effort, as in 1.12.0: when a value cannot be rebuilt as the target
    type, the raw parsed value is returned and a debug message is logged.
    """

    def serialize(self, value: Any) -> str | None:
        """Serialise ``value`` to JSON (``{"x": [1, 2]}``); ``None`` gives ``None``.

        Raises:
            TypeError: ``value`` holds something JSON cannot carry (a datetime, a set,
                bytes, ...) and no ``to_json`` hook says how; the message names its type.
        """
        if value is None:
            return None
        try:
            return json.dumps(value, default=_encode_object)
        except TypeError as exc:
            raise TypeError(
                f"Failed to serialize object of type '{type(value).__name__}' to JSON: {exc}"
            ) from exc

    def deserialize(self, data: str | None, target_type: type | None = None) -> Any:
        """Parse JSON ``data``; ``None`` or an empty string gives ``None``."""
        if data is None or data == "":
            return None
        if target_type is None:
            return json.loads(data, object_hook=_legacy_hook)
        try:
            return _coerce(json.loads(data, object_hook=_strip_marker), target_type, self)
        except Exception as exc:
            _log_fallback(target_type, exc)
            return json.loads(data, object_hook=_legacy_hook)

    def coerce(self, value: Any, target_type: type | None = None) -> Any:
        """Rebuild ``target_type`` from an already-parsed value, or return it unchanged."""
        if target_type is None or value is None:
            return value
        try:
            return _coerce(value, target_type, self)
        except Exception as exc:
            _log_fallback(target_type, exc)
            return value

    def can_reconstruct(self, target_type: Any) -> bool:
        """True for dataclasses and ``from_json`` types, also inside ``Optional``/``list``."""
        origin = typing.get_origin(target_type)
        if origin is not None:
            args = typing.get_args(target_type)
            if origin in (typing.Union, types.UnionType):
                return any(self.can_reconstruct(a) for a in args if a is not type(None))
            if origin in (list, Sequence):
                return any(self.can_reconstruct(a) for a in args)
            return False
        if not isinstance(target_type, type):
            return False
        return dataclasses.is_dataclass(target_type) or callable(
            getattr(target_type, "from_json", None))


def _log_fallback(target_type: Any, error: Exception) -> None:
    _logger.debug(
        "Could not coerce payload to '%s' (%s); returning the raw deserialized value.",
        getattr(target_type, "__name__", target_type), error,
    )


def _coerce(value: Any, target: Any, converter: DataConverter) -> Any:
    """Strict coercion of a parsed JSON value to ``target``; raises when it cannot."""
    if target is None or target is Any or value is None:
        return value
    origin = typing.get_origin(target)
    if origin is not None:
        return _coerce_generic(value, target, origin, converter)
    if not isinstance(target, type) or isinstance(value, target):
        return value
    from_json = getattr(target, "from_json", None)
    if callable(from_json):
        return from_json(value, converter) if _takes_converter(from_json) else from_json(value)
    if dataclasses.is_dataclass(target) and isinstance(value, dict):
        return _build_dataclass(target, value, converter)
    if target is types.SimpleNamespace and isinstance(value, dict):
        return types.SimpleNamespace(**value)
    try:
        return target(value)  # enums, primitives, tuple/set from a list ...
    except Exception as exc:
        raise TypeError(
            f"Could not coerce value of type '{type(value).__name__}' to '{target.__name__}'"
        ) from exc


@functools.lru_cache(maxsize=1024)
def _takes_converter(hook: Any) -> bool:
    # A from_json hook gets the converter only if its second parameter is named converter.
    try:
        parameters = inspect.signature(hook).parameters.values()
    except (TypeError, ValueError):
        return False
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    positional = [p for p in parameters if p.kind in kinds]
    return len(positional) >= 2 and positional[1].name == "converter"


def _coerce_generic(value: Any, target: Any, origin: Any, converter: DataConverter) -> Any:
    args = typing.get_args(target)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        if any(a is Any or (isinstance(a, type) and isinstance(value, a)) for a in members):
            return value
        # Only Optional[T] is coerced; a value matching no member of a wider union is kept.
        return _coerce(value, members[0], converter) if len(members) == 1 else value
    if origin in (list, Sequence) and isinstance(value, list):
        item = args[0] if args else None
        return [_coerce(v, item, converter) for v in value]
    if origin in (dict, Mapping) and isinstance(value, dict):
        if len(args) != 2:
            return value
        return {k: _coerce(v, args[1], converter) for k, v in value.items()}
    if origin is tuple and isinstance(value, list):
        if not args:
            return tuple(value)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], converter) for v in value)
        if len(value) != len(args):
            raise TypeError(f"Could not coerce JSON array of length {len(value)} "
                            f"to tuple of length {len(args)}")
        return tuple(_coerce(v, t, converter) for v, t in zip(value, args))
    return value


def _build_dataclass(cls: type, value: dict[str, Any], converter: DataConverter) -> Any:
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # unresolvable forward references: resolve what we can below
        hints = {}
    namespace = _namespace_of(cls)
    accepted = _init_keywords(cls)
    kwargs = {}
    for field in dataclasses.fields(cls):
        if field.name not in value:
            continue
        if not field.init and accepted is not None and field.name not in accepted:
            continue  # a non-init field the initializer cannot take: it recomputes it
        hint = _resolve(hints.get(field.name, field.type), namespace)
        kwargs[field.name] = _coerce(value[field.name], hint, converter)
    return cls(**kwargs)


def _init_keywords(cls: type) -> frozenset[str] | None:
    """Keyword names ``cls.__init__`` accepts after its receiver; None when it takes **kwargs."""
    try:
        initializer: Any = cls.__init__  # type: ignore[misc]
        parameters = list(inspect.signature(initializer).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    keyword_kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return frozenset(p.name for p in parameters[1:] if p.kind in keyword_kinds)


def _namespace_of(cls: type) -> dict[str, Any]:
    module = sys.modules.get(getattr(cls, "__module__", "") or "")
    namespace: dict[str, Any] = dict(getattr(module, "__dict__", {}))
    namespace.setdefault(cls.__name__, cls)
    return namespace


def _resolve(hint: Any, namespace: dict[str, Any]) -> Any:
    """Resolve string and ForwardRef leaves of a hint (Python 3.10 leaves them nested)."""
    if isinstance(hint, (str, typing.ForwardRef)):
        source = hint if isinstance(hint, str) else hint.__forward_arg__
        try:
            hint = eval(source, namespace)  # noqa: S307 - the user's own annotation
        except Exception:
            return None  # unresolvable: keep the parsed value
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is None or not args:
        return hint
    resolved = tuple(_resolve(a, namespace) for a in args)
    if resolved == args:
        return hint
    if origin in (typing.Union, types.UnionType):
        return typing.Union[resolved]
    try:
        return origin[resolved if len(resolved) > 1 else resolved[0]]
    except TypeError:
        return hint


DEFAULT_DATA_CONVERTER = JsonDataConverter()
"""The converter used when a client or worker is given none."""
