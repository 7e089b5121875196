"""Large payloads: inputs, results and custom status above the threshold go to a store.

Runs on the embedded sidecar with a folder store (``FilePayloadStore``) in a temp folder,
or with Azure Blob Storage / Azurite when given a connection string:
``python -m examples.large_payloads ["UseDevelopmentStorage=true"]``. See docs/payloads.md.
"""

from __future__ import annotations

import sys
import tempfile
from typing import Any

from durabletask import client, task, worker
from durabletask.payload import FilePayloadStore, LargePayloadStorageOptions, PayloadStore
from durabletask.testing import create_test_backend

# The default threshold is 256 KiB; a small one keeps the example quick to read.
OPTIONS = LargePayloadStorageOptions(threshold_bytes=16 * 1024)


def summarize(ctx: task.ActivityContext, report: dict) -> str:
    """Returns a large text: it travels back as a token, resolved before the orchestrator runs."""
    return "\n".join(f"{name}: {len(rows)} rows" for name, rows in report.items()) * 500


def build_report(ctx: task.OrchestrationContext, report: dict) -> dict:
    ctx.set_custom_status({"stage": "summarizing", "tables": sorted(report)})
    summary = yield ctx.call_activity(summarize, input=report)
    return {"tables": len(report), "summary_chars": len(summary)}


def _store(connection_string: str | None, folder: str) -> PayloadStore:
    if connection_string is None:
        return FilePayloadStore(folder, OPTIONS)
    # Needs the extra: pip install "durabletask[azure-blob]".
    from durabletask.extensions.azure_blob_payloads import (
        BlobPayloadStore,
        BlobPayloadStoreOptions,
    )

    return BlobPayloadStore(BlobPayloadStoreOptions(
        connection_string=connection_string, threshold_bytes=OPTIONS.threshold_bytes))


def main(connection_string: str | None = None) -> int:
    """Run one orchestration with a ~1 MiB input; print what the sidecar stored."""
    report: dict[str, Any] = {f"table{i}": [[i, "x" * 100]] * 1000 for i in range(10)}
    backend = create_test_backend(port=0)
    with tempfile.TemporaryDirectory() as folder:
        store = _store(connection_string, folder)
        # The worker and the client get the same store: each resolves the other's tokens.
        with worker.TaskHubGrpcWorker(host_address=backend.address, payload_store=store) as w:
            w.add_orchestrator(build_report)
            w.add_activity(summarize)
            w.start()
            with client.TaskHubGrpcClient(
                    host_address=backend.address, payload_store=store) as c:
                instance_id = c.schedule_new_orchestration(build_report, input=report)
                state = c.wait_for_orchestration_completion(instance_id, timeout=60)
            with client.TaskHubGrpcClient(host_address=backend.address) as plain:
                raw = plain.get_orchestration_state(instance_id)
        if hasattr(store, "close"):  # the blob store holds HTTP connections
            store.close()
    backend.stop()
    assert state is not None
    assert raw is not None
    print("output:", state.get_output())
    print("custom status:", state.get_custom_status())
    # Without a store a client sees what the sidecar holds: a token, not the 1 MiB input.
    print("the sidecar holds the input as:", raw.serialized_input)
    return 0 if state.runtime_status == client.OrchestrationStatus.COMPLETED else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
