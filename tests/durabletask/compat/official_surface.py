"""Compare our package with the official API snapshot (tools/official_api_snapshot.py)."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from pathlib import Path
from types import ModuleType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
_POSITIONAL = ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")


def load_snapshot_tool() -> ModuleType:
    """Import tools/official_api_snapshot.py (ours) to describe our objects the same way."""
    spec = importlib.util.spec_from_file_location(
        "official_api_snapshot", REPO_ROOT / "tools" / "official_api_snapshot.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_TOOL = load_snapshot_tool()


def _default_matches(expected: str | None, actual: str | None) -> bool:
    if expected is None:
        return True  # a default where the official has none breaks no call
    if expected == "<object>":
        return actual is not None
    return expected == actual


def params_problems(expected: list[list[Any]], actual: list[list[Any]]) -> list[str]:
    """Ways ``actual`` parameters are not call-compatible with ``expected``.

    Positional parameters must match in order (name, kind, default), the others by name;
    an extra parameter of ours needs a default so that no existing call breaks.
    """
    exp_pos = [p for p in expected if p[1] in _POSITIONAL]
    act_pos = [p for p in actual if p[1] in _POSITIONAL]
    problems = _positional_problems(exp_pos, act_pos)
    problems += _keyword_problems([p for p in expected if p[1] not in _POSITIONAL], actual)
    known = {p[0] for p in expected}
    extra = act_pos[len(exp_pos):] + [p for p in actual if p[1] not in _POSITIONAL]
    problems += [f"extra required parameter {name!r}" for name, kind, default in extra
                 if name not in known and default is None and kind not in _VARIADIC]
    return problems


_VARIADIC = ("VAR_POSITIONAL", "VAR_KEYWORD")


def _positional_problems(expected: list[list[Any]], actual: list[list[Any]]) -> list[str]:
    problems: list[str] = []
    for index, (name, kind, default) in enumerate(expected):
        if index >= len(actual):
            problems.append(f"missing positional parameter {name!r}")
            continue
        got = actual[index]
        if got[0] != name or got[1] != kind:
            problems.append(
                f"parameter {index} is {got[0]!r} ({got[1]}), expected {name!r} ({kind})")
        elif not _default_matches(default, got[2]):
            problems.append(f"{name!r} defaults to {got[2]}, expected {default}")
    return problems


def _keyword_problems(expected: list[list[Any]], actual: list[list[Any]]) -> list[str]:
    problems: list[str] = []
    by_name = {p[0]: p for p in actual}
    for name, kind, default in expected:
        got = by_name.get(name)
        if kind in _VARIADIC:
            if not any(p[1] == kind for p in actual):
                problems.append(f"missing {kind} parameter {name!r}")
        elif got is None:
            problems.append(f"missing {kind} parameter {name!r}")
        elif got[1] != kind:
            problems.append(f"{name!r} is {got[1]}, expected {kind}")
        elif not _default_matches(default, got[2]):
            problems.append(f"{name!r} defaults to {got[2]}, expected {default}")
    return problems


def _member_problems(where: str, expected: dict[str, Any], ours: type) -> list[str]:
    problems: list[str] = []
    for name, official in expected.items():
        if not hasattr(ours, name):
            problems.append(f"{where}.{name}: missing")
            continue
        described = _TOOL._members(_owner_of(ours, name)).get(name)
        if described is None:
            continue  # defined in a way the tool does not describe (e.g. inherited C slot)
        if name.startswith("__"):
            continue  # context-manager dunders: existence is the contract
        if official["kind"] != described["kind"]:
            problems.append(f"{where}.{name}: is a {described['kind']}, expected a "
                            f"{official['kind']}")
        elif official.get("params") is not None and described.get("params") is not None:
            problems += [f"{where}.{name}: {p}"
                         for p in params_problems(official["params"], described["params"])]
    return problems


def _owner_of(cls: type, name: str) -> type:
    for klass in inspect.getmro(cls):
        if name in vars(klass):
            return klass
    return cls


def name_problems(module_name: str, name: str, official: dict[str, Any], ours: Any) -> list[str]:
    """Differences between one official public name and ours."""
    where = f"{module_name}:{name}"
    described = _TOOL._describe(module_name, ours)
    kind, our_kind = official["kind"], described["kind"]
    if kind in ("value", "module"):
        return []
    if kind != our_kind:
        return [f"{where}: is a {our_kind}, expected a {kind}"]
    problems: list[str] = []
    if official.get("params") is not None and described.get("params") is not None:
        found = params_problems(official["params"], described["params"])
        problems += [f"{where}: {p}" for p in found]
    qualified = described.get("qualified_name")
    if "qualified_name" in official and official["qualified_name"] != qualified:
        problems.append(f"{where}: error type is {described.get('qualified_name')}, "
                        f"expected {official['qualified_name']}")
    if kind == "enum" and official["values"] != described["values"]:
        problems.append(f"{where}: members {described['values']}, expected {official['values']}")
    if inspect.isclass(ours):
        problems += _member_problems(where, official.get("members", {}), ours)
    return problems


def module_problems(module_name: str, official: dict[str, Any]) -> list[str]:
    """Every difference between an official public module and ours, as 'module:name: what'."""
    if "unimportable" in official:
        return []
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        return [f"{module_name}: module missing ({exc})"]
    problems: list[str] = []
    for name, entry in official["names"].items():
        if not hasattr(module, name):
            problems.append(f"{module_name}:{name}: missing")
            continue
        problems += name_problems(module_name, name, entry, getattr(module, name))
    ours_all = set(getattr(module, "__all__", ()))
    lacking = sorted(set(official["all"] or ()) - ours_all)
    if lacking:  # additions are allowed; every official star-export must be there
        problems.append(f"{module_name}: __all__ lacks {lacking}")
    return problems
