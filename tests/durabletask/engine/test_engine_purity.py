"""The engine package stays pure: it imports neither grpc nor threads, sockets or clocks."""

from __future__ import annotations

import ast
from pathlib import Path

import durabletask.internal.engine as engine

FORBIDDEN = {"grpc", "threading", "socket", "time", "concurrent", "subprocess"}


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_engine_modules_do_not_import_grpc_threads_or_clocks():
    package_dir = Path(engine.__file__).parent
    offenders = {
        path.name: sorted(_imported_roots(path) & FORBIDDEN)
        for path in package_dir.glob("*.py")
        if _imported_roots(path) & FORBIDDEN
    }
    assert offenders == {}
