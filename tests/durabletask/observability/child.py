"""Programs run in a child process of their own (global providers, import blockers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
RUN_TIMEOUT_SECONDS = 120

HELLO = '''
import json
import sys
from datetime import timedelta

from durabletask import client, worker
from durabletask.internal import observability
from durabletask.sidecar.hosting import EmbeddedSidecar


def say(ctx, name):
    return "Hello " + name


def hello(ctx, _):
    yield ctx.create_timer(timedelta(milliseconds=10))
    return (yield ctx.call_activity(say, input="world"))


def hello_worker(address):
    w = worker.TaskHubGrpcWorker(host_address=address)
    w.add_orchestrator(hello)
    w.add_activity(say)
    w.start()
    return w
'''
"""The start of a program: imports, a ``hello`` orchestration with a timer and an activity,
and ``hello_worker(address)``, a started worker for them."""


def run_child(program: str, extra_env: dict[str, str] | None = None) -> Any:
    """Run ``program`` from the repository root; return the JSON of its last output line."""
    env = {**os.environ, **(extra_env or {})}
    result = subprocess.run(
        [sys.executable, "-c", program], cwd=REPO_ROOT, env=env, capture_output=True,
        text=True, timeout=RUN_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
