"""docs/cli.md's walk-through, run command by command against a real sidecar and worker.

The sidecar and the worker are processes; each command runs ``durabletask.cli.main`` in the
test's process (tests/durabletask/cli/test_cli_commands.py runs the command as a process).
Each ``$ durabletask ...`` line of the section's ``console`` blocks is run in order (the
sidecar and the worker are started by the test, as the section starts them), and its output
is compared with the lines shown under it. Times, 32-digit hex ids (worker ids, execution
ids) and the sidecar's address are normalised, runs of spaces count as one (tables align to
their content), and a line ``...`` stands for any number of lines. Read-only commands are
polled until they match (within a deadline): what they show follows the worker's progress.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field

import pytest

from tests.durabletask.helpers.pipes import read_line
from tests.durabletask.cli.conftest import run_main
from tests.durabletask.process.procs import REPO_ROOT, cli_sidecar

pytestmark = pytest.mark.slow

DOC = REPO_ROOT / "docs" / "cli.md"
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|\+00:00)")
_HEX_ID = re.compile(r"\b[0-9a-f]{32}\b")
_READ_ONLY = ("show", "list", "history", "workers", "orphan-events list")
_POLL_SECONDS = 15


@dataclass
class Step:
    command: str
    expected: list[str] = field(default_factory=list)

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.command)


def walkthrough_steps() -> list[Step]:
    """The commands of the walk-through section, with the output shown for each."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## Walk-through")
    section = text[start: text.index("\n## ", start + 1)]
    steps: list[Step] = []
    for block in re.findall(r"```console\n(.*?)```", section, re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append(Step(line[2:]))
            elif steps:
                steps[-1].expected.append(line)
    for step in steps:
        while step.expected and not step.expected[-1].strip():
            step.expected.pop()
    return steps


def _normal(line: str, address: str) -> str:
    line = _HEX_ID.sub("<id>", _TIME.sub("<time>", line.replace(address, "localhost:4001")))
    return " ".join(line.split())


def _matches(expected: list[str], actual: list[str]) -> bool:
    position = 0
    skipping = False
    for line in expected:
        if line == "...":
            skipping = True
            continue
        if skipping:
            try:
                position = actual.index(line, position) + 1
            except ValueError:
                return False
            skipping = False
        elif position < len(actual) and actual[position] == line:
            position += 1
        else:
            return False
    return skipping or position == len(actual)


def _run(step: Step, address: str) -> list[str]:
    ran = run_main(*step.argv[1:])  # the address comes from $DURABLETASK_ADDRESS, as in the doc
    output = (ran.out + ran.err).splitlines()
    return [_normal(line, address) for line in output if line.strip()]


@pytest.fixture
def worker_process(request):
    """``python -m examples.cli_worker`` against the address the test gives it."""
    started: list[subprocess.Popen] = []

    def start(address: str) -> None:
        process = subprocess.Popen(
            [sys.executable, "-m", "examples.cli_worker", "--address", address],
            cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        assert read_line(process.stdout, 30).strip() == "worker ready"

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        process.stdout.close()


def test_every_command_of_the_walkthrough_prints_what_the_docs_show(worker_process, monkeypatch):
    steps = [s for s in walkthrough_steps() if s.argv[0] == "durabletask"
             and s.argv[1] != "sidecar"]
    assert len(steps) >= 25

    with cli_sidecar("--memory", "--port", "0", "--log-level", "WARNING") as sidecar:
        monkeypatch.setenv("DURABLETASK_ADDRESS", sidecar.address)
        worker_process(sidecar.address)
        for step in steps:
            expected = [_normal(line, "localhost:4001") for line in step.expected if line.strip()]
            retry = " ".join(step.argv[1:3]).startswith(_READ_ONLY)
            deadline = time.monotonic() + (_POLL_SECONDS if retry else 0)
            while True:
                actual = _run(step, sidecar.address)
                if _matches(expected, actual) or time.monotonic() >= deadline:
                    break
                time.sleep(0.2)
            assert _matches(expected, actual), "\n".join(
                [step.command, "expected:", *expected, "actual:", *actual])
