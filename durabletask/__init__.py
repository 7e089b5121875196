"""Durable Task SDK for Python.

Names listed in ``__all__`` are resolved lazily on first use (PEP 562), so
``import durabletask`` stays cheap and never imports ``durabletask.worker``.
"""

from __future__ import annotations

import importlib
from typing import Any

PACKAGE_NAME = "durabletask"

# No handler of ours: until the application configures logging, Python's last-resort
# handler shows WARNING and above (a worker that cannot reach its sidecar is not silent).

_LAZY_EXPORTS: dict[str, str] = {
    "ActivityWorkItemFilter": "durabletask.worker",
    "ConcurrencyOptions": "durabletask.worker",
    "EntityWorkItemFilter": "durabletask.worker",
    "ExceptionPropertiesProvider": "durabletask.exception_properties",
    "GrpcChannelOptions": "durabletask.grpc_options",
    "GrpcRetryPolicyOptions": "durabletask.grpc_options",
    "LargePayloadStorageOptions": "durabletask.payload",
    "OrchestrationWorkItemFilter": "durabletask.worker",
    "PayloadStore": "durabletask.payload",
    "VersioningOptions": "durabletask.worker",
    "WorkItemFilters": "durabletask.worker",
}

# Submodules reachable as attributes without an explicit import, as in 1.12.0.
_LAZY_SUBMODULES = frozenset(
    {"entities", "grpc_options", "internal", "payload", "serialization", "task", "worker"}
)

__all__ = sorted(_LAZY_EXPORTS)


def __getattr__(name: str) -> Any:
    module_name = _LAZY_EXPORTS.get(name)
    if module_name is not None:
        value = getattr(importlib.import_module(module_name), name)
        globals()[name] = value
        return value
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | _LAZY_SUBMODULES)
