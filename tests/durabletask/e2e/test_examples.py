"""Every example runs to completion and exits 0: the docs' code is real code."""

from __future__ import annotations

import importlib

import pytest

EXAMPLES = [
    "demo",
    "retries_and_errors",
    "lifecycle",
    "async_client",
    "resilient_worker",
    "durable_task_scheduler",
    "tuning",
    "application",
    "scheduled_tasks",
    "history_export",
    "async_orchestrators",
    "replay.record",
    "time_skipping",
    "isolated_activities",
    "graceful_shutdown",
]


@pytest.mark.slow
@pytest.mark.parametrize("name", EXAMPLES)
def test_example_runs_and_exits_zero(name, capsys):
    module = importlib.import_module(f"examples.{name}")
    assert module.main() == 0
    assert capsys.readouterr().out.strip()
