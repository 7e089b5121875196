"""Resiliency options and the SQLite sidecar in its own process: a restart loses nothing."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from durabletask import client, task, worker
from durabletask.errors import SidecarUnavailableError
from durabletask.grpc_options import GrpcClientResiliencyOptions, GrpcWorkerResiliencyOptions
from durabletask.sidecar.child_process import SidecarProcess


def wait_for_go(ctx: task.OrchestrationContext, _: None):
    return (yield ctx.wait_for_external_event("go"))


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        sidecar = SidecarProcess(db_path=Path(folder) / "state.db", memory=False)
        sidecar.start()
        try:
            return run(sidecar)
        finally:
            sidecar.stop()


def run(sidecar: SidecarProcess) -> int:
    worker_options = GrpcWorkerResiliencyOptions(
        hello_timeout_seconds=5.0,
        silent_disconnect_timeout_seconds=30.0,
        reconnect_backoff_base_seconds=0.2,
        reconnect_backoff_cap_seconds=2.0,
    )
    client_options = GrpcClientResiliencyOptions(channel_recreate_failure_threshold=3)
    with worker.TaskHubGrpcWorker(
        host_address=sidecar.address, resiliency_options=worker_options
    ) as w, client.TaskHubGrpcClient(
        host_address=sidecar.address, resiliency_options=client_options
    ) as c:
        w.add_orchestrator(wait_for_go)
        w.start()
        instance_id = c.schedule_new_orchestration(wait_for_go)
        c.wait_for_orchestration_start(instance_id, timeout=30)
        sidecar.restart()  # same port, same database: the instance is still there
        # Reads are retried by the SDK; mutating calls are not (a repeat could act twice),
        # so an application decides itself when to send one again.
        raise_after_restart(c, instance_id)
        state = c.wait_for_orchestration_completion(instance_id, timeout=30)
        print("output:", state.serialized_output, "| client:", c.resiliency_stats())
        return 0 if state.runtime_status == client.OrchestrationStatus.COMPLETED else 1


def raise_after_restart(c: client.TaskHubGrpcClient, instance_id: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            c.raise_orchestration_event(instance_id, "go", data="after restart")
            return
        except SidecarUnavailableError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(main())
