"""Print the public API surface of the installed durabletask packages as JSON.

Run it with the python of a virtualenv holding the OFFICIAL packages (never ours):

    <venv>/bin/python -I tools/official_api_snapshot.py > tests/durabletask/compat/official_api.json

It records facts only: for every public module (internal ones excluded) its public names,
and for each class or function the parameter names, kinds and defaults of its constructor
or signature and of its public methods, which members are properties, and the qualified
name of exception classes (the ``errorType`` other SDKs compare). Names and parameters,
never code. ``tests/durabletask/compat/test_public_api_official.py`` compares our package
with the committed output; its interop check regenerates the durabletask part.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import importlib.metadata
import inspect
import json
import pkgutil
import sys
from datetime import timedelta
from typing import Any

ROOTS = ("durabletask",)
SKIPPED_PARTS = ("internal", "tests")


def _default(value: Any) -> str | None:
    if value is inspect.Parameter.empty:
        return None
    text = repr(value)
    # Sentinels and other objects whose repr holds an address: only "has a default" counts.
    return "<object>" if " at 0x" in text else text


def _signature(fn: Any, drop_first: bool = False) -> list[list[Any]] | None:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    params = list(signature.parameters.values())
    if drop_first and params:
        params = params[1:]
    return [[p.name, p.kind.name, _default(p.default)] for p in params]


def _constructor(cls: type) -> list[list[Any]] | None:
    params = _signature(cls)
    if params is None or not dataclasses.is_dataclass(cls):
        return params
    factories = {f.name: f.default_factory for f in dataclasses.fields(cls)}
    for entry in params:
        factory = factories.get(entry[0])
        if entry[2] == "<factory>" and callable(factory):
            first, second = _default(factory()), _default(factory())
            entry[2] = first if first == second else "<object>"  # e.g. datetime.now
    return params


def _members(cls: type) -> dict[str, Any]:
    members: dict[str, Any] = {}
    for name, raw in vars(cls).items():
        if name.startswith("_") and name not in ("__enter__", "__exit__", "__aenter__",
                                                 "__aexit__"):
            continue
        if isinstance(raw, property):
            members[name] = {"kind": "property"}
        elif isinstance(raw, staticmethod):
            members[name] = {"kind": "staticmethod", "params": _signature(raw.__func__)}
        elif isinstance(raw, classmethod):
            members[name] = {"kind": "classmethod",
                             "params": _signature(raw.__func__, drop_first=True)}
        elif inspect.isfunction(raw):
            kind = "async" if inspect.iscoroutinefunction(raw) else "method"
            members[name] = {"kind": kind, "params": _signature(raw, drop_first=True)}
    return members


def _describe(module_name: str, obj: Any) -> dict[str, Any]:
    if inspect.isclass(obj):
        entry: dict[str, Any] = {"kind": "class", "members": _members(obj)}
        if issubclass(obj, enum.Enum):
            entry["kind"] = "enum"
            entry["values"] = {m.name: repr(m.value) for m in obj}
        else:
            entry["params"] = _constructor(obj)
        if issubclass(obj, BaseException):
            entry["qualified_name"] = f"{obj.__module__}.{obj.__qualname__}"
        return entry
    if inspect.isfunction(obj):
        kind = "async" if inspect.iscoroutinefunction(obj) else "function"
        return {"kind": kind, "params": _signature(obj)}
    if inspect.ismodule(obj):
        return {"kind": "module"}
    return {"kind": "value", "type": type(obj).__name__}


def _public_names(module: Any) -> list[str]:
    """``__all__`` plus the classes and functions the module defines and its constants."""
    listed = set(getattr(module, "__all__", ()))
    for name, value in vars(module).items():
        if name.startswith("_"):
            continue
        if inspect.isclass(value) or inspect.isfunction(value):
            if value.__module__ == module.__name__:
                listed.add(name)
        elif name.isupper() and isinstance(value, (str, int, float, timedelta)) \
                and not isinstance(value, bool):
            listed.add(name)
    return sorted(listed)


def _modules() -> list[str]:
    found: list[str] = []
    for root in ROOTS:
        package = importlib.import_module(root)
        found.append(root)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{root}."):
            parts = info.name.split(".")
            if any(p.startswith("_") or p in SKIPPED_PARTS for p in parts[1:]):
                continue
            found.append(info.name)
    return sorted(set(found))


def snapshot() -> dict[str, Any]:
    """Return the surface of every public module of the installed packages."""
    modules: dict[str, Any] = {}
    for name in _modules():
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # an optional dependency is missing
            modules[name] = {"unimportable": f"{type(exc).__name__}: {exc}"}
            continue
        names = {}
        for public in _public_names(module):
            if hasattr(module, public):
                names[public] = _describe(name, getattr(module, public))
        modules[name] = {"all": sorted(module.__all__) if hasattr(module, "__all__") else None,
                         "names": names}
    versions = {}
    for dist in ("durabletask", "durabletask-azuremanaged"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return {"versions": versions, "modules": modules}


if __name__ == "__main__":
    json.dump(snapshot(), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
