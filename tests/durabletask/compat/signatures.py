"""Compare a callable's signature with an expected one written as Python parameter text."""

from __future__ import annotations

import ast
import dataclasses
import inspect
from datetime import timedelta
from typing import Any


class _AnyDefault:
    """Stands for "has a default; its value is not part of the contract" (e.g. sentinels)."""

    def __repr__(self) -> str:
        return "ANY"


ANY = _AnyDefault()
_EVAL_NAMESPACE = {"timedelta": timedelta, "ANY": ANY, "__builtins__": {}}
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def parse_spec(spec: str) -> inspect.Signature:
    """Turn parameter text such as ``"a, *, b=None"`` into a signature (no annotations)."""
    args = ast.parse(f"def f({spec}): pass").body[0].args  # type: ignore[attr-defined]
    positional = args.posonlyargs + args.args
    first_default = len(positional) - len(args.defaults)
    params: list[inspect.Parameter] = []
    for index, arg in enumerate(positional):
        kind = (inspect.Parameter.POSITIONAL_ONLY if arg in args.posonlyargs
                else inspect.Parameter.POSITIONAL_OR_KEYWORD)
        default = (_evaluate(args.defaults[index - first_default]) if index >= first_default
                   else inspect.Parameter.empty)
        params.append(inspect.Parameter(arg.arg, kind, default=default))
    if args.vararg:
        params.append(inspect.Parameter(args.vararg.arg, inspect.Parameter.VAR_POSITIONAL))
    for arg, default_node in zip(args.kwonlyargs, args.kw_defaults):
        default = inspect.Parameter.empty if default_node is None else _evaluate(default_node)
        params.append(inspect.Parameter(arg.arg, inspect.Parameter.KEYWORD_ONLY, default=default))
    if args.kwarg:
        params.append(inspect.Parameter(args.kwarg.arg, inspect.Parameter.VAR_KEYWORD))
    return inspect.Signature(params)


def _evaluate(node: ast.expr) -> Any:
    return eval(compile(ast.Expression(node), "<spec>", "eval"), dict(_EVAL_NAMESPACE))


def actual_signature(owner: Any, name: str | None) -> inspect.Signature:
    """Return the signature of ``owner`` (a class constructor or function) or its method.

    ``self`` is dropped for plain methods; dataclass ``default_factory`` defaults are
    replaced by the value the factory produces, so ``versions=[]`` can be compared.
    """
    if name is None:
        signature = inspect.signature(owner)
    else:
        raw = inspect.getattr_static(owner, name)
        signature = inspect.signature(getattr(owner, name))
        if not isinstance(raw, (staticmethod, classmethod)) and inspect.isclass(owner):
            signature = signature.replace(parameters=list(signature.parameters.values())[1:])
    if name is None and inspect.isclass(owner) and dataclasses.is_dataclass(owner):
        factories = {f.name: f.default_factory for f in dataclasses.fields(owner)}
        signature = signature.replace(parameters=[
            p.replace(default=factories[p.name]())  # type: ignore[misc]
            if repr(p.default) == "<factory>" else p
            for p in signature.parameters.values()
        ])
    return signature


def _same_default(expected: Any, actual: Any) -> bool:
    if expected is ANY:
        return actual is not inspect.Parameter.empty
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    try:
        return bool(expected == actual)
    except Exception:  # exotic defaults that cannot be compared
        return False


def _parameter_problems(expected: inspect.Parameter, actual: inspect.Parameter) -> list[str]:
    problems = []
    if expected.name != actual.name:
        problems.append(f"parameter {actual.name!r} should be named {expected.name!r}")
    if expected.kind != actual.kind:
        problems.append(f"{expected.name!r} is {actual.kind.description}, "
                        f"expected {expected.kind.description}")
    # A default where the reference has none is compatible: every old call still works.
    if expected.default is not inspect.Parameter.empty and not _same_default(
        expected.default, actual.default
    ):
        shown = "none" if actual.default is inspect.Parameter.empty else repr(actual.default)
        problems.append(f"{expected.name!r} defaults to {shown}, expected {expected.default!r}")
    return problems


def signature_problems(expected: inspect.Signature, actual: inspect.Signature) -> list[str]:
    """List every way ``actual`` is not call-compatible with ``expected``.

    Positional parameters must match in order; keyword-only ones by name, in any order.
    Kinds and defaults must match. Extra parameters are allowed only with a default
    (additions must not break existing calls).
    """
    exp = list(expected.parameters.values())
    act = list(actual.parameters.values())
    exp_pos = [p for p in exp if p.kind in _POSITIONAL]
    act_pos = [p for p in act if p.kind in _POSITIONAL]
    problems: list[str] = []
    for index, parameter in enumerate(exp_pos):
        if index >= len(act_pos):
            problems.append(f"missing positional parameter {parameter.name!r}")
        else:
            problems += _parameter_problems(parameter, act_pos[index])
    act_by_name = {p.name: p for p in act}
    exp_names = {p.name for p in exp}
    for parameter in exp:
        if parameter.kind in _POSITIONAL:
            continue
        if parameter.name not in act_by_name:
            problems.append(f"missing parameter {parameter.name!r} ({parameter.kind.description})")
        else:
            problems += _parameter_problems(parameter, act_by_name[parameter.name])
    for parameter in act_pos[len(exp_pos):] + [p for p in act if p.kind not in _POSITIONAL]:
        if parameter.name in exp_names:
            continue
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            problems.append(f"unexpected {parameter.kind.description} {parameter.name!r}")
        elif parameter.default is parameter.empty:
            problems.append(f"extra required parameter {parameter.name!r}")
    return problems


def describe(signature: inspect.Signature) -> str:
    """Render a signature without annotations, for failure messages."""
    return str(signature.replace(
        parameters=[p.replace(annotation=p.empty) for p in signature.parameters.values()],
        return_annotation=inspect.Signature.empty,
    ))
