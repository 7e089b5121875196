"""Without the extra: OpenTelemetry cannot be imported, and everything works the same.

A child process gets a ``sitecustomize`` that refuses every ``opentelemetry`` import (as if
the package were not installed), then runs an orchestration end to end on our sidecar.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from bench.observability import BLOCKER
from tests.durabletask.observability.child import REPO_ROOT, RUN_TIMEOUT_SECONDS, HELLO, run_child

PROGRAM = HELLO + '''
with EmbeddedSidecar(port=0) as sidecar:
    w = hello_worker(sidecar.address)
    try:
        with client.TaskHubGrpcClient(host_address=sidecar.address) as c:
            instance_id = c.schedule_new_orchestration(hello)
            state = c.wait_for_orchestration_completion(instance_id, timeout=60)
        health = w.health()
    finally:
        w.stop()

print(json.dumps({
    "available": observability.AVAILABLE,
    "tracing": type(observability.tracing()).__name__,
    "output": state.serialized_output,
    "state": health.state.value,
    "loaded": sorted(m for m in sys.modules if m.startswith("opentelemetry")),
}))
'''


def test_everything_works_and_nothing_of_opentelemetry_loads_without_it(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(textwrap.dedent(BLOCKER))
    outcome = run_child(PROGRAM, {"PYTHONPATH": str(tmp_path)})
    assert outcome == {
        "available": False, "tracing": "NoopTracing", "output": '"Hello world"',
        "state": "connected", "loaded": [],
    }


def test_the_blocker_really_blocks(tmp_path):
    # The test above can fail: with the blocker, importing opentelemetry fails.
    (tmp_path / "sitecustomize.py").write_text(textwrap.dedent(BLOCKER))
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", "import opentelemetry.trace"], cwd=REPO_ROOT, env=env,
        capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS,
        stdin=subprocess.DEVNULL, check=False)

    assert result.returncode != 0
    assert "No module named 'opentelemetry" in result.stderr
