"""History export: a batch job writes the histories of finished instances into a folder.

Runs on the embedded sidecar: ``python -m examples.history_export [FOLDER]`` (a temporary
folder by default). See docs/history-export.md.
"""

from __future__ import annotations

import gzip
import json
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from durabletask import client, task, worker
from durabletask.extensions.history_export import (
    ExportDestination,
    ExportHistoryClient,
    ExportJobCreationOptions,
    ExportJobStatus,
    ExportMode,
    LocalFolderHistoryWriter,
)
from durabletask.testing import create_test_backend


def double(ctx: task.ActivityContext, value: int) -> int:
    return value * 2


def doubler(ctx: task.OrchestrationContext, value: int):
    result = yield ctx.call_activity(double, input=value)
    return result


def run(address: str, folder: Path) -> int:
    with client.TaskHubGrpcClient(host_address=address) as c, \
            worker.TaskHubGrpcWorker(host_address=address) as w:
        exports = ExportHistoryClient(c, LocalFolderHistoryWriter(folder))
        w.add_orchestrator(doubler)
        w.add_activity(double)
        exports.register_worker(w)              # the job entity, orchestrator, activities
        w.start()
        for value in (1, 2, 3):
            instance_id = c.schedule_new_orchestration(doubler, input=value)
            c.wait_for_orchestration_completion(instance_id, timeout=30)

        now = datetime.now(timezone.utc)
        job = exports.create_job(ExportJobCreationOptions(
            mode=ExportMode.BATCH,
            completed_time_from=now - timedelta(hours=1),
            completed_time_to=now + timedelta(minutes=1),
            destination=ExportDestination(container="histories", prefix="today"),
        ))
        final = exports.wait_for_job(job.job_id, timeout=60, poll_interval=0.2)
        print(f"job {final.job_id}: {final.status.value}, "
              f"{final.exported_instances} exported, {final.failed_instances} failed")

        files = sorted((folder / "histories" / "today").glob("*.jsonl.gz"))
        for path in files:
            header, *events = gzip.decompress(path.read_bytes()).decode().splitlines()
            metadata = json.loads(header)["metadata"]
            kinds = [json.loads(line)["event_type"] for line in events]
            print(f"{path.name[:12]}...: {metadata['instance_id']} "
                  f"{metadata['runtime_status']} output={metadata['serialized_output']} "
                  f"({len(kinds)} events)")
        exports.delete_job(final.job_id)       # the files stay
        return 0 if final.status is ExportJobStatus.COMPLETED and len(files) == 3 else 1


def main(folder: str | None = None) -> int:
    backend = create_test_backend(port=0)
    try:
        if folder is not None:
            return run(backend.address, Path(folder))
        with tempfile.TemporaryDirectory() as temporary:
            return run(backend.address, Path(temporary))
    finally:
        backend.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
