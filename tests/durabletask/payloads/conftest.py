"""Fixtures of the large-payload tests: stores, and Azurite for the blob store."""

from __future__ import annotations

from pathlib import Path

import pytest

from durabletask import client, task
from durabletask.payload import FilePayloadStore, LargePayloadStorageOptions
from tests.durabletask.helpers.azurite import azurite  # noqa: F401 (a fixture)

# Small, so that tests externalize a few KiB instead of the 256 KiB default.
THRESHOLD_BYTES = 1024
OPTIONS = LargePayloadStorageOptions(threshold_bytes=THRESHOLD_BYTES)


@pytest.fixture
def file_store(tmp_path: Path) -> FilePayloadStore:
    """A folder store with a 1 KiB threshold, in the test's temp folder."""
    return FilePayloadStore(tmp_path / "payloads", OPTIONS)


def payload_files(store: FilePayloadStore) -> list[Path]:
    """The payload files a folder store holds (temp files excluded)."""
    root = store.directory
    if not root.exists():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def failure_of(address: str, instance_id: str) -> task.FailureDetails:
    """The failure details of a FAILED instance, read by a client without a store."""
    with client.TaskHubGrpcClient(host_address=address) as plain:
        state = plain.get_orchestration_state(instance_id)
    assert state is not None
    assert state.runtime_status == client.OrchestrationStatus.FAILED
    assert state.failure_details is not None
    return state.failure_details
