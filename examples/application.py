"""An application in three processes: the sidecar, a worker process and a client process.

Starts the embedded sidecar (``durabletask sidecar`` in production), runs
``examples/app/worker.py`` and ``examples/app/client.py`` as separate programs, then stops the
worker with SIGTERM as a container platform would, and checks that it exits cleanly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from durabletask.sidecar.child_process import SidecarProcess

from examples.app.worker import READY_LINE

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_SECONDS = 60


def main() -> int:
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": pythonpath}
    with SidecarProcess() as sidecar:
        worker = subprocess.Popen(
            [sys.executable, "-m", "examples.app.worker", "--address", sidecar.address],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
        )
        try:
            assert worker.stdout is not None
            if worker.stdout.readline().strip() != READY_LINE:
                print("the worker did not start", file=sys.stderr)
                return 1
            done = subprocess.run(
                [sys.executable, "-m", "examples.app.client", "--address", sidecar.address,
                 "Ada", "Alan"],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
            )
            print("client:", done.stdout.strip() or done.stderr.strip())
            worker.send_signal(signal.SIGTERM)
            worker_exit = worker.wait(timeout=TIMEOUT_SECONDS)
            print("worker:", worker.stdout.read().strip(), f"(exit code {worker_exit})")
            return 0 if done.returncode == 0 and worker_exit == 0 else 1
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=TIMEOUT_SECONDS)


if __name__ == "__main__":
    sys.exit(main())
