"""What the worker logs: one WARNING per failed orchestration and per outage, INFO lifecycle.

The package installs no handler, so a program that configures no logging still sees
warnings on stderr (Python's last-resort handler): the outage test runs such a program.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import textwrap

import pytest

from durabletask import client, task

pytestmark = pytest.mark.slow


def broken(ctx: task.OrchestrationContext, _):
    raise ValueError("kaboom")


def test_a_failed_orchestration_is_one_warning_and_the_lifecycle_is_info(
    sidecar, make_worker, caplog
):
    caplog.set_level(logging.INFO, logger="durabletask")
    w = make_worker([broken])
    w.start()
    with client.TaskHubGrpcClient(host_address=sidecar.address) as c:
        instance_id = c.schedule_new_orchestration(broken)
        c.wait_for_orchestration_completion(instance_id, timeout=15)
    w.stop()

    failures = [r for r in caplog.records if r.levelno == logging.WARNING
                and instance_id in r.getMessage()]
    assert [r.getMessage() for r in failures] == [
        f"Orchestration {instance_id} failed: builtins.ValueError: kaboom"]
    assert failures[0].instance_id == instance_id
    info = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO
            and r.name.startswith("durabletask.worker")]
    assert any(m.endswith(f"connecting to the sidecar at {sidecar.address}") for m in info)
    assert f"Worker connected to the sidecar at {sidecar.address}" in info
    assert any(m.startswith("Worker ") and m.endswith(" stopped") for m in info)


_UNREACHABLE_WORKER = textwrap.dedent("""
    import sys, time
    from durabletask import worker
    from durabletask.grpc_options import GrpcWorkerResiliencyOptions

    options = GrpcWorkerResiliencyOptions(hello_timeout_seconds=1.0,
                                          reconnect_backoff_base_seconds=0.05,
                                          reconnect_backoff_cap_seconds=0.2)
    w = worker.TaskHubGrpcWorker(host_address=sys.argv[1], resiliency_options=options)
    w.start()
    deadline = time.monotonic() + 30
    while w.resiliency_stats().get("hello_failures", 0) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    print(w.resiliency_stats().get("hello_failures", 0), flush=True)
    w.stop()
""")


def test_a_worker_that_cannot_reach_its_sidecar_warns_once_with_the_address():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    result = subprocess.run(
        [sys.executable, "-c", _UNREACHABLE_WORKER, address], capture_output=True, text=True,
        timeout=60, check=False,
    )

    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 4
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Cannot reach the sidecar at {address} (UNAVAILABLE: ")
    assert "retrying in" in lines[0]
