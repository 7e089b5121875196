"""``durabletask replay FILE... --module M[:NAME]`` as CI runs it: a real process, exit codes.

The orchestrator modules live in a scratch project folder (the process's working
directory), as a user's code would; the histories are those recorded on our sidecar.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.durabletask.interop import replay_workflows
from tests.durabletask.process.procs import REPO_ROOT, durabletask_command

pytestmark = pytest.mark.slow

RUN_TIMEOUT_SECONDS = 60

CHANGED = '''
from workflows import TIMER, reserve

def order_flow(ctx, order):
    reservation = yield ctx.call_activity(reserve, input=order)
    yield ctx.create_timer(TIMER)
    return (yield ctx.call_activity("charge_card", input=reservation))
'''


@pytest.fixture
def project(tmp_path: Path, our_histories: dict[str, Path]) -> Path:
    """A folder with the workflows module, a changed copy, and the recorded histories."""
    shutil.copy(replay_workflows.__file__, tmp_path / "workflows.py")
    (tmp_path / "changed.py").write_text(CHANGED)
    for shape, folder in our_histories.items():
        for name in replay_workflows.INPUTS:
            shutil.copy(folder / f"{name}.json", tmp_path / f"{name}.{shape}.json")
    return tmp_path


def _replay(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*durabletask_command(), "replay", *args], capture_output=True, text=True,
        timeout=RUN_TIMEOUT_SECONDS, cwd=project, stdin=subprocess.DEVNULL, check=False,
    )


def test_unchanged_code_replays_every_history_and_exits_0(project):
    files = sorted(str(p.name) for p in project.glob("*.json"))

    result = _replay(project, *files, "--module", "workflows")

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.count("replays cleanly") == len(files) == 4
    assert result.stdout.rstrip().endswith("4 histories replayed, 0 with mismatches")


def test_a_renamed_activity_exits_1_naming_the_event_and_both_sides(project):
    result = _replay(project, "order_flow.cli.json", "totals.to_dict.json",
                     "-m", "changed:order_flow", "-m", "workflows")

    assert result.returncode == 1, result.stderr
    report = result.stdout
    assert "order_flow.cli.json: orchestrator 'order_flow'" in report
    assert "the history has call_activity 'charge' (scheduleTask" in report
    assert "the code made call_activity 'charge_card' (scheduleTask" in report
    assert "totals.to_dict.json: orchestrator 'totals'" in report
    assert report.rstrip().endswith("2 histories replayed, 1 with mismatches")


def test_json_output_carries_each_mismatch_with_its_event_index(project):
    result = _replay(project, "order_flow.to_dict.json", "-m", "changed:order_flow", "--json")

    assert result.returncode == 1, result.stderr
    [document] = json.loads(result.stdout)
    assert document["ok"] is False
    assert document["orchestrator"] == "order_flow"
    first = document["mismatches"][0]
    recorded = json.loads((project / "order_flow.to_dict.json").read_text())
    assert recorded[first["index"]]["name"] == "charge"
    assert first["event_type"] == "taskScheduled"


@pytest.mark.parametrize(("args", "expected"), [
    (["order_flow.cli.json", "-m", "no_such_module"], "cannot import 'no_such_module'"),
    (["totals.cli.json", "-m", "changed"], "'totals' orchestrator was not registered"),
    (["missing.json", "-m", "workflows"], "missing.json"),
    (["order_flow.cli.json", "-m", "workflows:TIMER"], "expected an orchestrator function"),
], ids=["module", "orchestrator", "file", "target"])
def test_what_cannot_be_checked_exits_2_in_one_line(project, args, expected):
    result = _replay(project, *args)

    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert expected in result.stderr
    assert result.stderr.count("\n") == 1


def test_the_documented_ci_check_passes_on_the_example_project():
    # docs/testing.md: the committed history of examples/replay replays against its code,
    # from the command line and from the example's own pytest file.
    from examples.replay import test_replay

    result = subprocess.run(
        [*durabletask_command(), "replay", *(str(p) for p in test_replay.HISTORIES),
         "-m", "examples.replay.workflows"], capture_output=True, text=True,
        timeout=RUN_TIMEOUT_SECONDS, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert test_replay.HISTORIES
    for path in test_replay.HISTORIES:
        test_replay.test_recorded_history_replays_against_the_current_code(path)
