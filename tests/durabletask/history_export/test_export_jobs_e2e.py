"""Export jobs end to end: a worker exports finished instances' histories into a folder."""

from __future__ import annotations

import gzip
import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from durabletask import client
from durabletask.extensions.history_export import (
    AsyncExportHistoryClient,
    ExportDestination,
    ExportFormat,
    ExportFormatKind,
    ExportJobCreationOptions,
    ExportJobNotFoundError,
    ExportJobStatus,
    ExportMode,
    LocalFolderHistoryWriter,
)
from tests.durabletask.helpers.wait import async_poll_until, poll_until
from tests.durabletask.history_export.conftest import echo, fails, start_export_worker

pytestmark = pytest.mark.slow

HASHED_NAME = re.compile(r"[0-9a-f]{64}\.(jsonl\.gz|json)")


def _batch(container: str = "exports", **kwargs) -> ExportJobCreationOptions:
    now = datetime.now(timezone.utc)
    return ExportJobCreationOptions(
        mode=ExportMode.BATCH, completed_time_from=now - timedelta(hours=1),
        completed_time_to=now + timedelta(hours=1),
        destination=ExportDestination(container, kwargs.pop("prefix", None)), **kwargs)


def _jsonl(path) -> tuple[dict, list[dict]]:
    header, *events = (json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines())
    return header, events


def test_a_batch_job_exports_every_finished_instance_in_pages(exports):
    seeded = {exports.finished(echo, n) for n in range(3)} | {exports.finished(fails)}

    job = exports.export_client.create_job(_batch("january", prefix="run-1",
                                                  max_instances_per_batch=2))
    final = exports.export_client.wait_for_job(job.job_id, timeout=30, poll_interval=0.05)

    assert (final.status, final.exported_instances, final.failed_instances) == (
        ExportJobStatus.COMPLETED, 4, 0)
    files = sorted((exports.folder / "january" / "run-1").iterdir())
    assert all(HASHED_NAME.fullmatch(f.name) for f in files)
    headers = {h["instance_id"]: h for h, _ in map(_jsonl, files)}
    assert set(headers) == seeded
    statuses = sorted(h["metadata"]["runtime_status"] for h in headers.values())
    assert statuses == ["COMPLETED", "COMPLETED", "COMPLETED", "FAILED"]
    _, events = _jsonl(files[0])
    assert events[0]["event_type"] == "OrchestratorStartedEvent"
    assert any(e["event_type"] == "ExecutionCompletedEvent" for e in events)


def test_a_json_job_exports_only_the_statuses_asked_for(exports):
    exports.finished(echo, "fine")
    broken = exports.finished(fails)

    job = exports.export_client.create_job(_batch(
        format=ExportFormat(kind=ExportFormatKind.JSON),
        runtime_status=[client.OrchestrationStatus.FAILED]))
    final = exports.export_client.wait_for_job(job.job_id, timeout=30, poll_interval=0.05)

    assert final.exported_instances == 1
    [exported] = (exports.folder / "exports").iterdir()
    document = json.loads(exported.read_text())
    assert document["instance_id"] == broken
    assert document["metadata"]["failure_details"]["message"] == "it broke"
    assert document["events"][-1]["event_type"] in {"ExecutionCompletedEvent",
                                                    "OrchestratorCompletedEvent"}


def test_a_continuous_job_follows_new_completions_until_deleted(exports):
    exports.finished(echo, "before")
    job = exports.export_client.create_job(ExportJobCreationOptions(
        mode=ExportMode.CONTINUOUS,
        completed_time_from=datetime.now(timezone.utc) - timedelta(hours=1),
        destination=ExportDestination("tail")))

    def exported() -> int:
        folder = exports.folder / "tail"
        return len(list(folder.iterdir())) if folder.exists() else 0

    poll_until(lambda: exported() == 1, timeout=15, message="the first export")
    exports.finished(echo, "after")
    poll_until(lambda: exported() == 2, timeout=15, message="the later completion's export")
    assert exports.export_client.get_job(job.job_id).status is ExportJobStatus.ACTIVE

    exports.export_client.delete_job(job.job_id)

    poll_until(lambda: exports.export_client.get_job(job.job_id) is None, timeout=10,
               message="the job to be deleted")
    orchestrator = exports.dt_client.get_orchestration_state(job.orchestrator_instance_id)
    assert orchestrator is None or orchestrator.runtime_status in (
        client.OrchestrationStatus.TERMINATED, client.OrchestrationStatus.COMPLETED)


def test_recreating_a_finished_job_runs_it_again_from_scratch(exports):
    exports.finished(echo, 1)
    first = exports.export_client.create_job(_batch(), job_id="again")
    exports.export_client.wait_for_job(first.job_id, timeout=30, poll_interval=0.05)

    second = exports.export_client.create_job(_batch(), job_id="again")
    poll_until(lambda: exports.export_client.get_job("again").created_at == second.created_at,
               timeout=15, message="the restart")
    final = exports.export_client.wait_for_job("again", timeout=30, poll_interval=0.05)

    assert (final.status, final.exported_instances) == (ExportJobStatus.COMPLETED, 1)


# --- bad input and faults ---------------------------------------------------------------


def test_an_unwritable_folder_fails_the_job_with_the_cause_and_leaves_no_file(
        make_worker, dt_client, tmp_path, short_delays):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file")
    export_client = start_export_worker(
        make_worker, dt_client, LocalFolderHistoryWriter(blocker / "exports"))
    instance_id = dt_client.schedule_new_orchestration(echo, input="x")
    dt_client.wait_for_orchestration_completion(instance_id, timeout=15)

    job = export_client.create_job(_batch())
    final = export_client.wait_for_job(job.job_id, timeout=30, poll_interval=0.05)

    assert final.status is ExportJobStatus.FAILED
    assert f"cannot write the history export of {instance_id!r}" in final.last_error
    assert "Not a directory" in final.last_error
    assert [f.instance_id for f in final.failures] == [instance_id]
    assert [p.name for p in tmp_path.rglob("*")] == ["not-a-folder"]


@pytest.mark.parametrize(("options", "message"), [
    (dict(completed_time_to=None), "completed_time_to is required for batch mode"),
    (dict(mode=ExportMode.CONTINUOUS), "not allowed for continuous mode"),
    (dict(completed_time_to=datetime(2020, 1, 1, tzinfo=timezone.utc)), "strictly greater"),
    (dict(runtime_status=[client.OrchestrationStatus.RUNNING]), "terminal statuses"),
    (dict(max_instances_per_batch=0), "max_instances_per_batch"),
    (dict(max_parallel_exports=0), "max_parallel_exports"),
])
def test_invalid_job_options_are_refused_before_anything_is_sent(exports, options, message):
    fields = {"mode": ExportMode.BATCH,
              "completed_time_from": datetime(2026, 1, 1, tzinfo=timezone.utc),
              "completed_time_to": datetime(2026, 2, 1, tzinfo=timezone.utc),
              "destination": ExportDestination("exports"), **options}

    with pytest.raises(ValueError, match=message):
        exports.export_client.create_job(ExportJobCreationOptions(**fields))

    assert list(exports.export_client.list_jobs()) == []


def test_unknown_jobs_are_none_or_not_found(exports):
    assert exports.export_client.get_job("nobody") is None
    with pytest.raises(ExportJobNotFoundError, match="'nobody' was not found") as raised:
        exports.export_client.wait_for_job("nobody", timeout=0.2, poll_interval=0.05)
    assert isinstance(raised.value, LookupError)
    with pytest.raises(ValueError, match="job_id must be a non-empty string"):
        exports.export_client.get_job_client("")
    with pytest.raises(ValueError, match="destination.container must be a non-empty string"):
        ExportDestination("")


# --- the async client -------------------------------------------------------------------


async def test_the_async_client_creates_lists_waits_for_and_deletes_jobs(exports, sidecar):
    exports.finished(echo, "async")
    async with client.AsyncTaskHubGrpcClient(host_address=sidecar.address) as async_client:
        export_client = AsyncExportHistoryClient(async_client, exports.export_client.writer)
        job = await export_client.create_job(_batch("async"), job_id="async-job")
        job_client = export_client.get_job_client(job.job_id)

        final = await job_client.wait(timeout=30, poll_interval=0.05)
        listed = [j.job_id async for j in export_client.list_jobs()]
        await job_client.delete()

        async def gone() -> bool:
            return await job_client.describe() is None

        await async_poll_until(gone, timeout=10, message="the job to be deleted")

    assert (final.status, final.exported_instances) == (ExportJobStatus.COMPLETED, 1)
    assert listed == ["async-job"]
    assert len(list((exports.folder / "async").iterdir())) == 1
