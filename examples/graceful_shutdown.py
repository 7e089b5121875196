"""A bounded, graceful stop: SIGTERM hands a running activity back; another worker finishes it.

Run it with ``python -m examples.graceful_shutdown``. The program sends itself SIGTERM, as a
container platform would; ``install_shutdown_signals`` turns it into ``stop(grace)``.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from pathlib import Path

from durabletask import client, task, worker
from durabletask.testing import create_test_backend


def report(ctx: task.ActivityContext, folder: str) -> str:
    """The first attempt takes a minute (too long for the grace period); the next is quick."""
    attempt = len(list(Path(folder).iterdir())) + 1
    (Path(folder) / f"attempt-{attempt}").write_text(str(os.getpid()))
    if attempt == 1:
        time.sleep(60)
    return f"report written by attempt {attempt}"


def nightly(ctx: task.OrchestrationContext, folder: str):
    result = yield ctx.call_activity(report, input=folder)
    return result


def new_worker(address: str) -> worker.TaskHubGrpcWorker:
    w = worker.TaskHubGrpcWorker(
        host_address=address,
        shutdown_options=worker.ShutdownOptions(grace_seconds=1),
    )
    w.add_orchestrator(nightly)
    w.add_activity(report, isolation="process")  # a process can be killed; a thread cannot
    return w


def main() -> int:
    backend = create_test_backend(port=0)
    try:
        with tempfile.TemporaryDirectory() as folder, \
                client.TaskHubGrpcClient(host_address=backend.address) as c:
            first = new_worker(backend.address)
            first.start()
            signals = worker.install_shutdown_signals(first)
            try:
                instance = c.schedule_new_orchestration(nightly, input=folder)
                _wait_for(lambda: any(Path(folder).iterdir()))
                os.kill(os.getpid(), signal.SIGTERM)  # what `docker stop` sends
                signals.wait(timeout=30)
            finally:
                signals.restore()
            print("first worker stopped; running:", c.get_orchestration_state(instance)
                  .runtime_status.name)
            with new_worker(backend.address) as second:
                second.start()
                state = c.wait_for_orchestration_completion(instance, timeout=60)
            print("second worker finished it:", state.serialized_output)
            return 0 if state.runtime_status == client.OrchestrationStatus.COMPLETED else 1
    finally:
        backend.stop()


def _wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the activity did not start")
        time.sleep(0.05)


if __name__ == "__main__":
    raise SystemExit(main())
