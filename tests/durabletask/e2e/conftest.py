"""The end-to-end scenarios run with generator orchestrators and with their async twins."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.durabletask.e2e.twins import in_style


@pytest.fixture(params=["generator", "async"])
def orch(request: pytest.FixtureRequest) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``orch(fn)``: the orchestrator ``fn`` in this run's style (``fn`` or its async twin)."""
    return in_style(request.param)
