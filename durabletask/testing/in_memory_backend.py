"""The module path of the test backend in durabletask 1.12.0 (same objects as ``testing``).

The official module also holds the dataclasses of its own backend's bookkeeping
(``OrchestrationInstance``, ``ActivityWorkItem``, ...); ours keeps that state in the
embedded sidecar's store instead (see docs/compatibility.md).
"""

from __future__ import annotations

from durabletask.testing import InMemoryOrchestrationBackend, create_test_backend

__all__ = ["InMemoryOrchestrationBackend", "create_test_backend"]
