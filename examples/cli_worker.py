"""The worker of the command-line walk-through (docs/cli.md): ``python -m examples.cli_worker``.

Three orchestrations to inspect and control with ``durabletask``: ``greetings`` (from
examples/app) completes at once, ``approval`` waits for an event or a day, and ``checkout``
fails the first time its payment step runs, so that it can be rewound. Runs until SIGTERM or
Ctrl-C.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from datetime import timedelta

from durabletask import task, worker

from examples.app.workflows import greet, greetings

READY_LINE = "worker ready"
_charged: set[str] = set()


def approval(ctx: task.OrchestrationContext, order: str):
    """Wait for an 'approval' event, for at most a day."""
    decision = ctx.wait_for_external_event("approval")
    timeout = ctx.create_timer(timedelta(days=1))
    winner = yield task.when_any([decision, timeout])
    if winner is timeout:
        return f"{order}: no decision"
    return f"{order}: {decision.get_result()}"


def charge(ctx: task.ActivityContext, order: str) -> str:
    """Fail the first charge of each order (a flaky payment service), succeed afterwards."""
    if order not in _charged:
        _charged.add(order)
        raise ConnectionError("the payment service did not answer")
    return f"charged {order}"


def checkout(ctx: task.OrchestrationContext, order: str):
    """Charge an order (no retry policy: the first failure fails the orchestration)."""
    receipt = yield ctx.call_activity(charge, input=order)
    return receipt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", default="localhost:4001", help="the sidecar's host:port")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with worker.TaskHubGrpcWorker(host_address=args.address) as w:
        for orchestrator in (greetings, approval, checkout):
            w.add_orchestrator(orchestrator)
        for activity in (greet, charge):
            w.add_activity(activity)
        w.start()
        print(READY_LINE, flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
