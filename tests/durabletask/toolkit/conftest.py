"""Histories recorded on our embedded sidecar, in both JSON shapes, for the replayer tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from durabletask.testing import create_test_backend
from tests.durabletask.interop import replay_workflows
from tests.durabletask.process.procs import run_cli


@pytest.fixture(scope="session")
def our_histories(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``{"to_dict": dir, "cli": dir}``: each workflow's history as ``<dir>/<name>.json``.

    ``to_dict`` holds ``[history.to_dict(e) for e in get_orchestration_history(id)]``,
    ``cli`` the output of ``durabletask history ID --json`` (the real command).
    """
    plain = tmp_path_factory.mktemp("history-to-dict")
    cli = tmp_path_factory.mktemp("history-cli")
    backend = create_test_backend(port=0)
    try:
        instances = replay_workflows.record(backend.address, str(plain))
        for name, instance_id in instances.items():
            result = run_cli("history", instance_id, "--json", "--address", backend.address)
            assert result.returncode == 0, result.stderr
            (cli / f"{name}.json").write_text(result.stdout)
    finally:
        backend.stop()
    return {"to_dict": plain, "cli": cli}
