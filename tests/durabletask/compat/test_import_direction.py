"""The dependency arrows hold: checked by parsing the source (AST), never by importing it.

* ``durabletask/sidecar/**`` is a separate program: it never imports the client, the
  worker, the replay engine, ``durabletask.task`` or the client transport.
* ``durabletask/internal/engine/**`` is pure: it never imports ``grpc`` nor ``asyncio``.
* ``durabletask/internal/transport/**`` sits below the requests, the worker runtime and
  the engine: it imports none of them.
* the value types (``durabletask/history.py``) sit below the clients and the worker.
* the engine's tests (``tests/durabletask/engine/**``) need no gRPC either.
* the library never calls ``logging.basicConfig`` (that is the application's choice).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
PACKAGE_DIR = REPO_ROOT / "durabletask"

SIDECAR_FORBIDDEN = (
    "durabletask.client",
    "durabletask.worker",
    "durabletask.internal.engine",
    "durabletask.task",
)
SIDECAR_FORBIDDEN += ("durabletask.internal.transport",)
GRPC_FORBIDDEN = ("grpc",)
ASYNCIO_FORBIDDEN = ("asyncio",)
TRANSPORT_FORBIDDEN = (
    "durabletask.internal.requests",
    "durabletask.internal.runtime",
    "durabletask.internal.engine",
)
VALUE_FORBIDDEN = ("durabletask.client", "durabletask.worker")
# The sidecar, clients and worker all call the observability facade: it must not pull in
# any of them (nor the engine), or the sidecar's arrows would break through it.
OBSERVABILITY_FORBIDDEN = (
    "durabletask.client",
    "durabletask.worker",
    "durabletask.internal.engine",
    "durabletask.internal.runtime",
    "durabletask.task",
    "durabletask.sidecar",
)
_DYNAMIC_IMPORTERS = {"import_module", "__import__"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _resolve_from(node: ast.ImportFrom, module: str, is_package: bool) -> Iterator[str]:
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        base_parts = package[: len(package) - (node.level - 1)]
        base = ".".join(base_parts + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    yield base
    for alias in node.names:
        yield f"{base}.{alias.name}"


def _dynamic_import(node: ast.Call) -> str | None:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name in _DYNAMIC_IMPORTERS and node.args:
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    return None


def imported_modules(source: str, module: str = "pkg.mod", is_package: bool = False) -> set[str]:
    """Return every module name ``source`` imports, with relative imports made absolute.

    ``from a import b`` yields both ``a`` and ``a.b`` (``b`` may be a submodule), and
    ``importlib.import_module("x")`` with a literal argument yields ``x``.
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.update(_resolve_from(node, module, is_package))
        elif isinstance(node, ast.Call):
            dynamic = _dynamic_import(node)
            if dynamic is not None:
                found.add(dynamic)
    return found


def forbidden_imports(path: Path, forbidden: tuple[str, ...]) -> list[str]:
    """Return the imports of ``path`` that are, or are inside, a ``forbidden`` module."""
    modules = imported_modules(
        path.read_text(encoding="utf-8"), _module_name(path), _is_package(path)
    )
    return sorted(
        name for name in modules
        if any(name == bad or name.startswith(bad + ".") for bad in forbidden)
    )


def calls_basic_config(source: str) -> bool:
    """Return True when ``source`` calls or imports ``logging.basicConfig``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "basicConfig":
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "logging" and any(
            alias.name == "basicConfig" for alias in node.names
        ):
            return True
    return False


def _python_files(directory: Path) -> list[Path]:
    return sorted(
        p for p in directory.rglob("*.py") if "proto" not in p.relative_to(REPO_ROOT).parts
    )


def _file_params(directory: Path) -> list[object]:
    files = _python_files(directory) if directory.is_dir() else []
    if not files:
        return [pytest.param(directory, id=f"missing-{directory.name}")]
    return [pytest.param(p, id=str(p.relative_to(REPO_ROOT))) for p in files]


def _require_file(path: Path) -> None:
    assert path.is_file(), (
        f"{path.relative_to(REPO_ROOT)} has no Python files: the layered package it should "
        "contain has not been written yet"
    )


@pytest.mark.parametrize("path", _file_params(PACKAGE_DIR / "sidecar"))
def test_sidecar_module_never_imports_client_worker_engine_or_task(path):
    _require_file(path)

    bad = forbidden_imports(path, SIDECAR_FORBIDDEN)

    assert not bad, (
        f"{path.relative_to(REPO_ROOT)} imports {bad}: the sidecar may import only "
        "durabletask.internal.proto, its own modules and neutral helpers"
    )


@pytest.mark.parametrize("path", _file_params(PACKAGE_DIR / "internal" / "observability"))
def test_observability_module_never_imports_its_callers(path):
    _require_file(path)

    bad = forbidden_imports(path, OBSERVABILITY_FORBIDDEN)

    assert not bad, (
        f"{path.relative_to(REPO_ROOT)} imports {bad}: the observability facade is called by "
        "the sidecar, clients and worker and must not import them"
    )


@pytest.mark.parametrize("path", _file_params(PACKAGE_DIR / "internal" / "engine"))
def test_engine_module_never_imports_grpc(path):
    _require_file(path)

    bad = forbidden_imports(path, GRPC_FORBIDDEN)

    assert not bad, f"{path.relative_to(REPO_ROOT)} imports {bad}: the engine must stay pure"


@pytest.mark.parametrize("path", _file_params(PACKAGE_DIR / "internal" / "engine"))
def test_engine_module_never_imports_asyncio(path):
    _require_file(path)
    bad = forbidden_imports(path, ASYNCIO_FORBIDDEN)

    assert not bad, (
        f"{path.relative_to(REPO_ROOT)} imports {bad}: the engine is driven by the worker "
        "runtime and never runs an event loop"
    )


@pytest.mark.parametrize("path", _file_params(PACKAGE_DIR / "internal" / "transport"))
def test_transport_module_never_imports_requests_runtime_or_engine(path):
    _require_file(path)

    bad = forbidden_imports(path, TRANSPORT_FORBIDDEN)

    assert not bad, (
        f"{path.relative_to(REPO_ROOT)} imports {bad}: the transport carries calls for the "
        "client requests and the worker runtime and must not depend on them"
    )


def test_history_value_types_never_import_the_clients_or_worker():
    path = PACKAGE_DIR / "history.py"

    bad = forbidden_imports(path, VALUE_FORBIDDEN)

    assert not bad, f"durabletask/history.py imports {bad}: value types sit below the client"


@pytest.mark.parametrize("path", _file_params(REPO_ROOT / "tests" / "durabletask" / "engine"))
def test_engine_test_module_never_imports_grpc(path):
    _require_file(path)

    bad = forbidden_imports(path, GRPC_FORBIDDEN)

    assert not bad, f"{path.relative_to(REPO_ROOT)} imports {bad}: engine tests run without gRPC"


def test_library_never_calls_logging_basic_config():
    offenders = [
        str(path.relative_to(REPO_ROOT))
        for path in _python_files(PACKAGE_DIR)
        if calls_basic_config(path.read_text(encoding="utf-8"))
    ]

    assert not offenders, f"library modules configure logging globally: {offenders}"


# ---------------------------------------------------------------- the checker can fail


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import durabletask.worker", "durabletask.worker"),
        ("from durabletask import client", "durabletask.client"),
        ("from ..internal.engine import executor", "durabletask.internal.engine"),
        ("from .. import task", "durabletask.task"),
        ("from .dispatcher import Dispatcher", "durabletask.sidecar.dispatcher"),
        ("import importlib\nimportlib.import_module('durabletask.client')", "durabletask.client"),
    ],
)
def test_imported_modules_resolves_absolute_relative_and_dynamic_imports(source, expected):
    modules = imported_modules(source, "durabletask.sidecar.server")

    assert expected in modules


def test_imported_modules_resolves_relative_imports_inside_a_package_init():
    modules = imported_modules("from .store import memory", "durabletask.sidecar", True)

    assert "durabletask.sidecar.store.memory" in modules


@pytest.mark.parametrize("source", ["import grpc.aio", "from grpc import aio", "import grpc"])
def test_forbidden_grpc_forms_are_all_detected(source):
    modules = imported_modules(source, "durabletask.internal.engine.probe")

    assert any(m == "grpc" or m.startswith("grpc.") for m in modules)


def test_imported_modules_ignores_sibling_modules_of_the_sidecar():
    modules = imported_modules("from . import dispatcher, timers", "durabletask.sidecar.server")

    assert not [m for m in modules if m.startswith(SIDECAR_FORBIDDEN)]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import logging\nlogging.basicConfig(level=10)", True),
        ("from logging import basicConfig", True),
        ("import logging\nlogging.getLogger('durabletask.x')", False),
    ],
)
def test_calls_basic_config_detects_global_logging_setup(source, expected):
    assert calls_basic_config(source) is expected
