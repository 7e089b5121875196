"""Reads what user functions expect from their signatures: input type and arity."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["FunctionShape", "shape_of"]


@dataclass(frozen=True)
class FunctionShape:
    """What the runtime needs to know to call a user function ``fn(ctx, input)``."""

    takes_input: bool
    """False when the function accepts only the context, so it is called as ``fn(ctx)``."""
    input_type: Any
    """The annotation of the input parameter (resolved), or None."""
    is_async: bool
    """True for ``async def`` functions (and objects with an ``async def __call__``)."""


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
    input_type: Any = None
    if len(params) >= 2:
        annotation = _resolved_hints(fn).get(params[1].name, params[1].annotation)
        if annotation is not inspect.Parameter.empty and not isinstance(annotation, str):
            input_type = annotation
    return FunctionShape(takes_input=takes_input, input_type=input_type, is_async=is_async)


@functools.lru_cache(maxsize=1024)
def _cached_shape(fn: Callable[..., Any]) -> FunctionShape:
    return _compute_shape(fn)


def shape_of(fn: Callable[..., Any]) -> FunctionShape:
    """Return the (cached) shape of ``fn``."""
    try:
        return _cached_shape(fn)
    except TypeError:  # unhashable callable objects cannot be cached
        return _compute_shape(fn)
