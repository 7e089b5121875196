"""A worker in its own process, for tests that kill or signal it.

``python -m tests.durabletask.isolation.worker_main ADDRESS GRACE``: runs ``acts.fan_out``
and ``acts.record_pid_and_sleep`` (in up to 2 child processes), prints ``ready``, stops on
SIGTERM or SIGINT (``install_shutdown_signals`` with ``GRACE`` seconds), prints ``stopped``.
The worker's own log lines go to stdout too, so that a test sees when a signal was handled.
"""

from __future__ import annotations

import logging
import sys

from durabletask import worker
from tests.durabletask.isolation import acts


def main(argv: list[str]) -> int:
    address, grace = argv[1], float(argv[2])
    log = logging.getLogger("durabletask.worker")
    log.addHandler(logging.StreamHandler(sys.stdout))
    log.setLevel(logging.INFO)
    w = worker.TaskHubGrpcWorker(
        host_address=address,
        process_isolation=worker.ProcessIsolationOptions(max_processes=2))
    w.add_orchestrator(acts.fan_out)
    w.add_activity(acts.record_pid_and_sleep, isolation="process")
    w.start()
    signals = worker.install_shutdown_signals(w, grace=grace)
    print("ready", flush=True)
    signals.wait()
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
