"""The sidecar is a separate program: it imports only the protocol and its own modules.

The protocol is the generated protos plus our wire dialect (``internal/dialect.py``: the
metadata keys our sidecar and worker exchange) and the id and name rules our sidecar applies
(``internal/wire_names.py``), both needing nothing but the standard library.
The observability facade (``internal/observability``) and the clock (``internal/clock.py``)
are shared by design (DESIGN.md); they import none of the client, worker or engine
(tests/durabletask/compat/test_import_direction.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

import durabletask.sidecar

ALLOWED_PREFIXES = ("durabletask.internal.proto", "durabletask.internal.dialect",
                    "durabletask.internal.observability", "durabletask.internal.clock",
                    "durabletask.internal.wire_names", "durabletask.sidecar")


def _imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_sidecar_imports_only_protos_and_itself():
    root = Path(durabletask.sidecar.__file__).parent
    offenders = [
        f"{path.relative_to(root)}: {name}"
        for path in sorted(root.rglob("*.py"))
        for name in _imported_modules(path)
        if name.startswith("durabletask") and not name.startswith(ALLOWED_PREFIXES)
    ]
    assert offenders == []
