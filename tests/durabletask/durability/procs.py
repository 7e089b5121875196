"""Child processes for durability tests: sidecars and workers, always killed and reaped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.durabletask.helpers.pipes import read_line

REPO_ROOT = Path(__file__).resolve().parents[3]
START_TIMEOUT = 20.0


@dataclass
class Child:
    """One child process with its stdin (closing it asks the child to stop) and log file."""

    process: subprocess.Popen[bytes]
    log: Path
    address: str = ""

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL and reap."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self._close_pipes()

    def stop(self) -> None:
        """Ask the child to stop (stdin closed); kill it if it does not within 10 s."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self._close_pipes()

    def exited(self) -> bool:
        return self.process.poll() is not None

    def _close_pipes(self) -> None:
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None and not pipe.closed:
                pipe.close()


@dataclass
class Children:
    """Starts children for one test and kills whatever is left at the end."""

    tmp: Path
    started: list[Child] = field(default_factory=list)

    def spawn(self, module: str, args: list[str], env: dict[str, str] | None = None) -> Child:
        log = self.tmp / f"{module.rsplit('.', 1)[-1]}-{len(self.started)}.log"
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", module, *args], cwd=REPO_ROOT, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=stderr, env={**os.environ, **(env or {})},
            )
        child = Child(process, log)
        self.started.append(child)
        return child

    def sidecar(self, db: Path, port: int = 0, **flags: object) -> Child:
        """Start ``sidecar_child`` on ``db`` and wait for its address."""
        args = ["--db", str(db), "--port", str(port)]
        for name, value in flags.items():
            args += [f"--{name.replace('_', '-')}", str(value)]
        child = self.spawn("tests.durabletask.durability.sidecar_child", args)
        assert child.process.stdout is not None
        line = read_line(child.process.stdout, START_TIMEOUT)
        assert line, f"sidecar exited: {child.log.read_text()}"
        child.address = json.loads(line)["address"]
        return child

    def worker(self, address: str, mode: str = "ok", marker: Path | None = None) -> Child:
        """Start ``worker_child`` against ``address`` and wait until it runs."""
        from tests.durabletask.durability.apps import MARKER_ENV, MODE_ENV

        env = {MODE_ENV: mode, MARKER_ENV: str(marker) if marker else ""}
        child = self.spawn("tests.durabletask.durability.worker_child", [address], env)
        assert child.process.stdout is not None
        line = read_line(child.process.stdout, START_TIMEOUT)
        assert line.strip() == "ready", f"worker did not start: {child.log.read_text()}"
        return child

    def kill_all(self) -> None:
        for child in self.started:
            child.kill()
