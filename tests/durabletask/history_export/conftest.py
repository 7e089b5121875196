"""Fixtures for history export: a worker running export jobs into a folder, on a real sidecar."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from durabletask import client, task
from durabletask.extensions.history_export import ExportHistoryClient, LocalFolderHistoryWriter
from durabletask.extensions.history_export import orchestrator as export_orchestrator
from tests.durabletask.helpers.azurite import azurite  # noqa: F401 (a fixture)


def echo(ctx: task.OrchestrationContext, value: object) -> object:
    """A finished instance to export."""
    return value


def fails(ctx: task.OrchestrationContext, _: object) -> None:
    """A failed instance to export."""
    raise ValueError("it broke")


@dataclass
class Exports:
    """An export client whose worker writes under ``folder``, and the client it uses."""

    dt_client: client.TaskHubGrpcClient
    export_client: ExportHistoryClient
    folder: Path

    def finished(self, orchestrator, value: object = None) -> str:
        """Run an instance to its end; return its id."""
        instance_id = self.dt_client.schedule_new_orchestration(orchestrator, input=value)
        state = self.dt_client.wait_for_orchestration_completion(instance_id, timeout=15)
        assert state is not None
        return instance_id


@pytest.fixture
def short_delays() -> Iterator[None]:  # noqa: PT004 - used for its effect
    """Shorten the job orchestrator's waits between page attempts and idle polls.

    These are the module's test seams, set as 1.12.0's own tests set them: production
    waits are a minute and more.
    """
    export_orchestrator._BATCH_RETRY_BACKOFF_OVERRIDE = timedelta(milliseconds=100)
    export_orchestrator._CONTINUOUS_IDLE_DELAY_OVERRIDE = timedelta(milliseconds=200)
    try:
        yield
    finally:
        export_orchestrator._BATCH_RETRY_BACKOFF_OVERRIDE = None
        export_orchestrator._CONTINUOUS_IDLE_DELAY_OVERRIDE = None


def start_export_worker(make_worker, dt_client, writer) -> ExportHistoryClient:
    """Start a worker running export jobs with ``writer``; return the export client."""
    export_client = ExportHistoryClient(dt_client, writer)
    w = make_worker([echo, fails])
    export_client.register_worker(w)
    w.start()
    return export_client


@pytest.fixture
def exports(make_worker, dt_client, tmp_path, short_delays) -> Exports:
    """Export jobs writing into ``tmp_path / "exports"``."""
    folder = tmp_path / "exports"
    export_client = start_export_worker(make_worker, dt_client, LocalFolderHistoryWriter(folder))
    return Exports(dt_client, export_client, folder)
