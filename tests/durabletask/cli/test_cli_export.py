"""``durabletask export --to FOLDER``, run as a real process against a CLI-started sidecar."""

from __future__ import annotations

import gzip
import json
import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from tests.durabletask.cli.conftest import approval, broken, greeter
from tests.durabletask.process.procs import run_cli

pytestmark = pytest.mark.slow


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def _failed(result: subprocess.CompletedProcess[str], exit_code: int) -> str:
    assert result.returncode == exit_code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr


@pytest.fixture(scope="module")
def finished(target):
    """A completed and a failed instance (the id has characters unsafe in file names),
    and a running one that is never exported."""
    target.completed(greeter, "export-done", "ada")
    target.completed(broken, "export/failed")
    target.running(approval, "export-running")
    return target


def test_export_writes_each_finished_instance_to_a_file_named_by_its_id(finished, tmp_path):
    folder = tmp_path / "out"

    output = _ok(run_cli("export", "--to", str(folder), "--address", finished.address))

    assert sorted(p.name for p in folder.iterdir()) == [
        "export%2Ffailed.jsonl.gz", "export-done.jsonl.gz"]
    assert output.splitlines()[-1] == f"exported 2 instance(s) to {folder}"
    lines = gzip.decompress((folder / "export-done.jsonl.gz").read_bytes()).splitlines()
    header = json.loads(lines[0])
    assert (header["kind"], header["instance_id"]) == ("metadata", "export-done")
    assert header["metadata"]["runtime_status"] == "COMPLETED"
    assert header["metadata"]["serialized_output"] == '"hello ada"'
    events = [json.loads(line)["event_type"] for line in lines[1:]]
    assert events[0] == "OrchestratorStartedEvent"
    assert "TaskCompletedEvent" in events
    assert "ExecutionCompletedEvent" in events


def test_export_filters_by_status_and_time_and_writes_json(finished, tmp_path):
    now = datetime.now(timezone.utc)

    document = json.loads(_ok(run_cli(
        "export", "--to", str(tmp_path), "--status", "failed", "--format", "json",
        "--completed-after", (now - timedelta(hours=1)).isoformat(), "--json",
        "--address", finished.address)))
    nothing = json.loads(_ok(run_cli(
        "export", "--to", str(tmp_path / "none"), "--completed-before",
        (now - timedelta(hours=1)).isoformat(), "--json", "--address", finished.address)))

    assert [item["instance_id"] for item in document["exported"]] == ["export/failed"]
    exported = json.loads((tmp_path / "export%2Ffailed.json").read_text())
    assert exported["metadata"]["failure_details"]["message"] == "kaboom"
    assert (nothing["exported"], nothing["failed"]) == ([], [])


def test_an_unwritable_folder_fails_with_a_clear_error_and_writes_nothing(finished, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")

    error = _failed(run_cli("export", "--to", str(blocker / "out"),
                            "--address", finished.address), 1)

    assert f"cannot write to {str(blocker / 'out')!r}" in error
    assert "nothing was exported" in error
    assert [p.name for p in tmp_path.iterdir()] == ["a-file"]


@pytest.mark.parametrize(("args", "message"), [
    (["--status", "running"], "only finished instances are exported"),
    (["--completed-after", "yesterday"], "expected an ISO 8601 time"),
    (["--completed-after", "2026-02-01", "--completed-before", "2026-01-01"],
     "--completed-before must be later than --completed-after"),
])
def test_bad_filters_are_usage_errors(finished, tmp_path, args, message):
    result = run_cli("export", "--to", str(tmp_path / "out"), *args,
                     "--address", finished.address)

    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert not (tmp_path / "out").exists()
