"""Fixtures for CLI tests: a ``durabletask sidecar`` process with a worker and client attached."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from durabletask import client, task, worker
from durabletask.cli import main
from tests.durabletask.conftest import FAST_WORKER_RESILIENCY
from tests.durabletask.process.procs import cli_sidecar


def say_hello(ctx: task.ActivityContext, name: str) -> str:
    return f"hello {name}"


def greeter(ctx: task.OrchestrationContext, name: str):
    greeting = yield ctx.call_activity(say_hello, input=name)
    return greeting


def approval(ctx: task.OrchestrationContext, _):
    decision = yield ctx.wait_for_external_event("approval")
    return decision


def broken(ctx: task.OrchestrationContext, _):
    raise ValueError("kaboom")


@dataclass
class CliTarget:
    """A running ``durabletask sidecar`` and a client of it."""

    address: str
    client: client.TaskHubGrpcClient

    def completed(self, orchestrator, instance_id: str, data=None) -> client.OrchestrationState:
        """Schedule an instance and wait until it finishes."""
        self.client.schedule_new_orchestration(orchestrator, input=data, instance_id=instance_id)
        state = self.client.wait_for_orchestration_completion(instance_id, timeout=15)
        assert state is not None
        return state

    def running(self, orchestrator, instance_id: str) -> None:
        """Schedule an instance and wait until it runs."""
        self.client.schedule_new_orchestration(orchestrator, instance_id=instance_id)
        self.client.wait_for_orchestration_start(instance_id, timeout=15)


@pytest.fixture(scope="module")
def target() -> Iterator[CliTarget]:
    """One CLI-started in-memory sidecar per module, with a worker for the test orchestrations."""
    with cli_sidecar("--memory", "--port", "0", "--log-level", "WARNING") as sidecar:
        w = worker.TaskHubGrpcWorker(
            host_address=sidecar.address, resiliency_options=FAST_WORKER_RESILIENCY
        )
        for orchestrator in (greeter, approval, broken):
            w.add_orchestrator(orchestrator)
        w.add_activity(say_hello)
        w.start()
        c = client.TaskHubGrpcClient(host_address=sidecar.address)
        try:
            yield CliTarget(sidecar.address, c)
        finally:
            c.close()
            w.stop()


@dataclass
class Ran:
    """What one in-process run of the command printed, and its exit status."""

    status: int
    out: str
    err: str


def run_main(*argv: str) -> Ran:
    """Run ``durabletask ARGV`` in this process (``main``), capturing what it prints.

    A process per command costs a second of start-up; tests that check many commands run
    them in-process (the CLI as a process: test_cli_commands.py). The CLI silences the SDK's
    log records; their level is restored afterwards.
    """
    out, err = io.StringIO(), io.StringIO()
    package_logger = logging.getLogger("durabletask")
    level = package_logger.level
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(list(argv))
    finally:
        package_logger.setLevel(level)
    assert "Traceback" not in err.getvalue(), err.getvalue()
    return Ran(status, out.getvalue(), err.getvalue())
