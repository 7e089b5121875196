"""The Azure Blob history writer: option checks, and export jobs into a real Azurite.

The Azurite tests use the session's emulator from ``tests/durabletask/helpers/azurite.py``
(``make test`` installs Azurite with npm; it starts on an ephemeral port).
"""

from __future__ import annotations

import gzip
import json

import pytest

from durabletask.extensions.history_export import ExportJobStatus
from durabletask.extensions.history_export.azure_blob import (
    AzureBlobHistoryExportWriter,
    AzureBlobHistoryExportWriterOptions,
)
from tests.durabletask.history_export.conftest import echo, start_export_worker
from tests.durabletask.history_export.test_export_jobs_e2e import _batch


@pytest.mark.parametrize(("options", "message"), [
    (dict(container_name="", connection_string="x"), "container_name is required"),
    (dict(container_name="c"), "Either 'connection_string' or 'account_url'"),
    (dict(container_name="c", connection_string="x", account_url="https://a"),
     "mutually exclusive"),
    (dict(container_name="c", account_url="https://a"), "'credential' is required"),
])
def test_incomplete_options_are_value_errors(options, message):
    with pytest.raises(ValueError, match=message):
        AzureBlobHistoryExportWriterOptions(**options)


@pytest.mark.slow
def test_an_export_job_writes_blobs_with_their_content_settings_and_metadata(
        azurite, make_worker, dt_client, short_delays):
    from azure.storage.blob import BlobServiceClient

    writer = AzureBlobHistoryExportWriter(AzureBlobHistoryExportWriterOptions(
        container_name="histories", connection_string=azurite.connection_string))
    export_client = start_export_worker(make_worker, dt_client, writer)
    instance_id = dt_client.schedule_new_orchestration(echo, input="to the cloud")
    dt_client.wait_for_orchestration_completion(instance_id, timeout=15)

    job = export_client.create_job(_batch("ignored-by-this-writer", prefix="run-1"))
    final = export_client.wait_for_job(job.job_id, timeout=30, poll_interval=0.05)
    writer.close()

    assert (final.status, final.exported_instances) == (ExportJobStatus.COMPLETED, 1)
    with BlobServiceClient.from_connection_string(azurite.connection_string) as service:
        container = service.get_container_client("histories")
        [blob] = list(container.list_blobs(name_starts_with="run-1/", include=["metadata"]))
        assert blob.metadata == {"instance_id": instance_id}
        assert blob.content_settings.content_type == "application/x-ndjson"
        assert blob.content_settings.content_encoding == "gzip"
        data = container.download_blob(blob.name, decompress=False).readall()
    header = json.loads(gzip.decompress(data).splitlines()[0])
    assert header["metadata"]["serialized_output"] == '"to the cloud"'


def test_a_write_once_writer_refuses_to_replace_a_blob(azurite):
    from azure.core.exceptions import ResourceExistsError

    options = AzureBlobHistoryExportWriterOptions(
        container_name="write-once", connection_string=azurite.connection_string,
        overwrite=False)
    with AzureBlobHistoryExportWriter(options) as writer:
        def write() -> None:
            writer.write(instance_id="i1", container="ignored", blob_name="a.json",
                         payload=b"{}", content_type="application/json", content_encoding=None)

        write()
        with pytest.raises(ResourceExistsError):
            write()
