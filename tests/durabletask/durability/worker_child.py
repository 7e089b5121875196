"""A worker process for crash tests: runs ``apps`` until killed; activity mode from the env."""

from __future__ import annotations

import sys

from durabletask import worker
from tests.durabletask.conftest import FAST_WORKER_RESILIENCY
from tests.durabletask.durability import apps


def main() -> int:
    w = worker.TaskHubGrpcWorker(host_address=sys.argv[1],
                                 resiliency_options=FAST_WORKER_RESILIENCY)
    for fn in apps.ORCHESTRATORS:
        w.add_orchestrator(fn)
    for fn in apps.ACTIVITIES:
        w.add_activity(fn)
    w.start()
    print("ready", flush=True)
    sys.stdin.read()  # run until the test closes stdin or kills us
    w.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
