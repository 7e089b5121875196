"""The worker process: ``python -m examples.app.worker --address HOST:PORT``.

Runs until SIGTERM or SIGINT (Ctrl-C), then stops the worker and exits 0. This is the shape
of a worker in a container: log to stderr, stop on the platform's signal.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from durabletask import worker

from examples.app.workflows import greet, greetings

READY_LINE = "worker ready"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", default="localhost:4001", help="the sidecar's host:port")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    with worker.TaskHubGrpcWorker(host_address=args.address) as w:
        w.add_orchestrator(greetings)
        w.add_activity(greet)
        w.start()
        print(READY_LINE, flush=True)
        stop.wait()
    # Leaving the with block stopped the worker: the stream is closed, nothing is running.
    print("worker stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
