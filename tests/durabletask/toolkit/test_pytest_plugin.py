"""The pytest plugin as users meet it: test files in a folder of their own, run by pytest.

Each run is a separate pytest process in a scratch folder with no conftest.py, so the
fixtures can only come from the installed plugin (entry point ``pytest11``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "pytest_fixtures"
RUN_TIMEOUT_SECONDS = 120

pytestmark = pytest.mark.slow

OVERRIDES = '''
import pytest

from durabletask import task

def double(ctx: task.OrchestrationContext, n: int):
    return n * 2

@pytest.fixture
def durabletask_backend(durabletask_sqlite_sidecar):
    return durabletask_sqlite_sidecar

def test_the_client_and_worker_use_the_overridden_backend(
        durabletask_worker, durabletask_client, durabletask_sqlite_sidecar, tmp_path):
    assert durabletask_worker.address == durabletask_sqlite_sidecar.address
    durabletask_worker(orchestrators=[double])
    instance_id = durabletask_client.schedule_new_orchestration(double, input=21)
    state = durabletask_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.get_output() == 42
    assert (tmp_path / "durabletask.db").stat().st_size > 0
'''

SHARED = '''
from durabletask import client

def test_first_leaves_an_instance(durabletask_shared_sidecar):
    with client.TaskHubGrpcClient(host_address=durabletask_shared_sidecar.address) as c:
        c.schedule_new_orchestration("nobody-runs-this", instance_id="left-behind")
        assert c.get_orchestration_state("left-behind") is not None

def test_second_starts_empty_on_the_same_sidecar(durabletask_shared_sidecar):
    with client.TaskHubGrpcClient(host_address=durabletask_shared_sidecar.address) as c:
        assert c.get_orchestration_state("left-behind") is None
'''


def _run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o",
         "asyncio_mode=strict", *args],
        cwd=folder, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS,
    )


def test_the_documented_example_files_pass_with_only_the_plugin(tmp_path: Path) -> None:
    for example in ("test_orders.py", "test_reminders.py"):
        shutil.copy(EXAMPLES / example, tmp_path / example)
    result = _run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout


def test_overriding_the_backend_moves_clients_and_workers(tmp_path: Path) -> None:
    (tmp_path / "test_overrides.py").write_text(OVERRIDES)
    result = _run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_the_shared_sidecar_is_emptied_between_tests(tmp_path: Path) -> None:
    (tmp_path / "test_shared.py").write_text(SHARED)
    result = _run_pytest(tmp_path, "-p", "no:randomly")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_a_failing_user_test_fails_and_its_fixtures_still_stop(tmp_path: Path) -> None:
    (tmp_path / "test_fails.py").write_text(
        "def test_boom(durabletask_worker, durabletask_client):\n"
        "    durabletask_worker()\n"
        "    assert durabletask_client.get_orchestration_state('x') == 'not none'\n"
    )
    result = _run_pytest(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    assert "1 failed" in summary
    assert "error" not in summary  # teardown (worker stop, sidecar stop) raised nothing
