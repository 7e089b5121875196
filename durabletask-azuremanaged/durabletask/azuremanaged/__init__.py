"""Durable Task Scheduler (Azure managed) provider for the durabletask SDK.

The clients and the worker live in ``durabletask.azuremanaged.client`` and
``durabletask.azuremanaged.worker``, as in the official package. They can also be imported
from here (an addition); they are loaded on first use (PEP 562), so ``import
durabletask.azuremanaged`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from durabletask.azuremanaged.client import (
        AsyncDurableTaskSchedulerClient,
        DurableTaskSchedulerClient,
    )
    from durabletask.azuremanaged.worker import DurableTaskSchedulerWorker

_LAZY_EXPORTS: dict[str, str] = {
    "AsyncDurableTaskSchedulerClient": "durabletask.azuremanaged.client",
    "DurableTaskSchedulerClient": "durabletask.azuremanaged.client",
    "DurableTaskSchedulerWorker": "durabletask.azuremanaged.worker",
}

__all__ = [
    "AsyncDurableTaskSchedulerClient",
    "DurableTaskSchedulerClient",
    "DurableTaskSchedulerWorker",
]


def __getattr__(name: str) -> Any:
    module_name = _LAZY_EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
