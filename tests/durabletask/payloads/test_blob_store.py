"""``BlobPayloadStore`` against a real Azurite blob service that the tests start themselves.

Skipped, naming npm and azurite, where npm is missing (see tests/durabletask/helpers/azurite.py).
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("azure.storage.blob")

from azure.storage.blob import BlobServiceClient  # noqa: E402

from durabletask import client, task  # noqa: E402
from durabletask.extensions.azure_blob_payloads import (  # noqa: E402
    BlobPayloadStore,
    BlobPayloadStoreOptions,
)
from durabletask.testing import InMemoryOrchestrationBackend  # noqa: E402
from tests.durabletask.helpers.azurite import Azurite, skip_or_fail_without_azurite  # noqa: E402
from tests.durabletask.helpers.wait import poll_until  # noqa: E402
from tests.durabletask.payloads.conftest import THRESHOLD_BYTES, failure_of  # noqa: E402

pytestmark = pytest.mark.slow

BIG = 3 * THRESHOLD_BYTES
TIMEOUT = 30
COMPLETED = client.OrchestrationStatus.COMPLETED


def _store(emulator: Azurite, **extra: Any) -> BlobPayloadStore:
    return BlobPayloadStore(BlobPayloadStoreOptions(
        connection_string=emulator.connection_string, threshold_bytes=THRESHOLD_BYTES,
        container_name=f"payloads-{uuid.uuid4().hex[:8]}", **extra))


@pytest.fixture
def blob_store(azurite: Azurite) -> Iterator[BlobPayloadStore]:
    """A store with a container of its own on the session's Azurite."""
    with _store(azurite) as store:
        yield store


def _blobs(emulator: Azurite, container: str) -> dict[str, bytes]:
    with BlobServiceClient.from_connection_string(emulator.connection_string) as service:
        box = service.get_container_client(container)
        return {b.name: box.download_blob(b.name).readall() for b in box.list_blobs()}


def test_sync_and_async_round_trips_store_gzip_blobs_under_the_instance(
    azurite: Azurite, blob_store: BlobPayloadStore,
) -> None:
    container = blob_store.options.container_name

    token = blob_store.upload(b"sync payload", instance_id="inst-1")
    # Two event loops, one after the other, as a worker and an async client would use.
    async_tokens = [asyncio.run(blob_store.upload_async(b"async payload")) for _ in range(2)]
    downloads = [asyncio.run(blob_store.download_async(t)) for t in [token, *async_tokens]]

    # The official token format: blob:v1:<container>:<instanceId>/<32 hex digits>.
    assert re.fullmatch(rf"blob:v1:{container}:inst-1/[0-9a-f]{{32}}", token)
    assert downloads == [b"sync payload", b"async payload", b"async payload"]
    stored = _blobs(azurite, container)
    assert sorted(stored) == sorted(t.split(":", 3)[3] for t in [token, *async_tokens])
    assert all(gzip.decompress(data) in (b"sync payload", b"async payload")
               for data in stored.values())


def echo_loud(ctx: task.OrchestrationContext, text: str) -> Any:
    loud = yield ctx.call_activity(upper, input=text)
    return loud


def upper(ctx: task.ActivityContext, text: str) -> str:
    return text.upper()


def test_orchestration_with_large_payloads_runs_through_blob_storage(
    azurite: Azurite, sidecar: InMemoryOrchestrationBackend, make_worker: Any,
    blob_store: BlobPayloadStore,
) -> None:
    make_worker([echo_loud], [upper], payload_store=blob_store).start()
    with client.TaskHubGrpcClient(host_address=sidecar.address, payload_store=blob_store) as c:
        instance_id = c.schedule_new_orchestration(echo_loud, input="q" * BIG)
        state = c.wait_for_orchestration_completion(instance_id, timeout=TIMEOUT)

    assert state is not None
    assert state.runtime_status == COMPLETED
    assert state.get_output() == "Q" * BIG
    names = _blobs(azurite, blob_store.options.container_name)
    # Input, activity input, activity result, output: all under the instance's folder.
    assert len(names) == 4
    assert all(n.startswith(f"{instance_id}/") for n in names)


def test_missing_blob_fails_the_orchestration_with_not_found(
    azurite: Azurite, sidecar: InMemoryOrchestrationBackend, make_worker: Any,
    blob_store: BlobPayloadStore,
) -> None:
    container = blob_store.options.container_name
    with client.TaskHubGrpcClient(host_address=sidecar.address, payload_store=blob_store) as c:
        instance_id = c.schedule_new_orchestration(echo_loud, input="m" * BIG)
        [name] = _blobs(azurite, container)
        with BlobServiceClient.from_connection_string(azurite.connection_string) as service:
            service.get_container_client(container).delete_blob(name)
        make_worker([echo_loud], [upper], payload_store=blob_store).start()
        c.wait_for_orchestration_completion(instance_id, fetch_payloads=False, timeout=TIMEOUT)
    details = failure_of(sidecar.address, instance_id)

    assert details.error_type == "durabletask.payload.errors.PayloadNotFoundError"
    assert f"blob:v1:{container}:{name}" in details.message
    assert "BlobNotFound" in details.message


def test_azurite_stopped_mid_run_abandons_the_work_item_until_it_is_back(
    tmp_path: Path, sidecar: InMemoryOrchestrationBackend, make_worker: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    skip_or_fail_without_azurite()
    caplog.set_level(logging.WARNING, logger="durabletask.worker")
    with Azurite(tmp_path) as emulator:
        # No retries inside the azure client: each failed call fails at once.
        store = _store(emulator, client_kwargs={"retry_total": 0})
        with client.TaskHubGrpcClient(host_address=sidecar.address, payload_store=store) as c:
            instance_id = c.schedule_new_orchestration(echo_loud, input="r" * BIG)
            emulator.stop()
            make_worker([echo_loud], [upper], payload_store=store).start()
            poll_until(lambda: "abandoning" in caplog.text and instance_id in caplog.text,
                       timeout=TIMEOUT, message="the worker to abandon the episode")
            during = c.get_orchestration_state(instance_id, fetch_payloads=False)
            emulator.restart()
            state = c.wait_for_orchestration_completion(instance_id, timeout=TIMEOUT)
        store.close()

    assert during is not None
    assert during.runtime_status != client.OrchestrationStatus.FAILED
    assert f"BlobPayloadStore('{emulator.blob_endpoint}'" in caplog.text
    assert f"blob:v1:{store.options.container_name}:{instance_id}/" in caplog.text
    assert state is not None
    assert state.runtime_status == COMPLETED
    assert state.get_output() == "R" * BIG
