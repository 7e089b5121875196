"""Reads what user functions expect from their signatures: input type and arity."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["FunctionShape", "reconstructable", "shape_of"]


@dataclass(frozen=True)
class FunctionShape:
    """What the runtime needs to know to call a user function ``fn(ctx, input)``."""

    takes_input: bool
    """False when the function accepts only the context, so it is called as ``fn(ctx)``."""
    input_type: Any
    """The annotation of the input parameter (resolved), or None."""
    is_async: bool
    """True for ``async def`` functions (and objects with an ``async def __call__``)."""
    output_type: Any = None
    """The resolved return annotation, or None."""


def reconstructable(annotation: Any, converter: Any) -> Any:
    """Return ``annotation`` if ``converter.can_reconstruct`` it, else None.

    As in 1.12.0, an annotation only drives deserialisation when the converter claims the
    type (the default one: dataclasses and ``from_json`` types, also in Optional/list);
    otherwise the raw payload is passed.
    """
    if annotation is None or annotation is Any:
        return None
    return annotation if converter.can_reconstruct(annotation) else None


def _positional(sig: inspect.Signature) -> tuple[list[inspect.Parameter], bool]:
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    params = [p for p in sig.parameters.values() if p.kind in kinds]
    varargs = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in sig.parameters.values())
    return params, varargs


def _resolved_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    target: Any = fn
    if not (inspect.isfunction(fn) or inspect.ismethod(fn)) and not isinstance(fn, type):
        target = type(fn).__call__
    try:
        return typing.get_type_hints(target)
    except Exception:  # unresolvable forward references: use no hint rather than fail
        return {}


def _compute_shape(fn: Callable[..., Any]) -> FunctionShape:
    is_async = inspect.iscoroutinefunction(fn) or (
        not isinstance(fn, type) and inspect.iscoroutinefunction(type(fn).__call__)
    )
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return FunctionShape(takes_input=True, input_type=None, is_async=is_async)
    params, varargs = _positional(sig)
    takes_input = varargs or len(params) >= 2
    hints = _resolved_hints(fn)
    input_type: Any = None
    if len(params) >= 2:
        input_type = _usable(hints.get(params[1].name, params[1].annotation))
    output_type = _usable(hints.get("return", sig.return_annotation))
    return FunctionShape(takes_input=takes_input, input_type=input_type, is_async=is_async,
                         output_type=output_type)


def _usable(annotation: Any) -> Any:
    if annotation is inspect.Parameter.empty or isinstance(annotation, str):
        return None
    return annotation


@functools.lru_cache(maxsize=1024)
def _cached_shape(fn: Callable[..., Any]) -> FunctionShape:
    return _compute_shape(fn)


def shape_of(fn: Callable[..., Any]) -> FunctionShape:
    """Return the (cached) shape of ``fn``."""
    try:
        return _cached_shape(fn)
    except TypeError:  # unhashable callable objects cannot be cached
        return _compute_shape(fn)
