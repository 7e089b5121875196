"""A worker process for the resiliency probes: our SDK with DEFAULT options.

``python -m bench.fault_worker ADDRESS MARKER`` serves the orchestrator ``run_slow``, which
calls the activity ``slow(seconds)``; the activity appends ``start <pid>`` and ``end <pid>``
lines to MARKER. The process prints ``{"ready": <pid>}`` once started, runs until SIGINT
(Ctrl-C) or until its stdin closes (then it calls ``stop()``), and prints one last JSON line:
how long the stop took and the worker's resiliency counters.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from durabletask import task, worker

_MARKER = Path(sys.argv[2]) if len(sys.argv) > 2 else None


def _mark(what: str) -> None:
    if _MARKER is not None:
        with _MARKER.open("a") as f:
            f.write(f"{what} {os.getpid()}\n")


def slow(ctx: task.ActivityContext, seconds: float) -> float:
    """Sleep ``seconds``, marking the start and the end."""
    _mark("start")
    time.sleep(seconds)
    _mark("end")
    return seconds


def run_slow(ctx: task.OrchestrationContext, seconds: float):
    """One ``slow`` activity."""
    return (yield ctx.call_activity(slow, input=seconds))


def main() -> int:
    w = worker.TaskHubGrpcWorker(host_address=sys.argv[1])
    w.add_orchestrator(run_slow)
    w.add_activity(slow)
    stats: dict[str, object] = {}
    with w:
        w.start()
        print(json.dumps({"ready": os.getpid()}), flush=True)
        try:
            sys.stdin.read()  # until the probe closes stdin: stop() below
        except KeyboardInterrupt:
            pass  # Ctrl-C: leaving the block stops the worker, as a user's program would
        stats = w.resiliency_stats()
        stopping = time.monotonic()
    print(json.dumps({"stop_s": round(time.monotonic() - stopping, 3), "stats": stats}),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
