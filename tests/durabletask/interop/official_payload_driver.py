"""Runs under the OFFICIAL durabletask==1.12.0 with its BlobPayloadStore (large payloads).

Usage (``python -I official_payload_driver.py MODE --address HOST:PORT --connection-string
CS --container NAME --threshold N``, from a temp directory):

* ``schedule``: the official client schedules ``payload_echo`` with a large input, waits
  for it and prints one JSON line: the status and the output it resolved.
* ``worker``: serves ``payload_echo`` and ``payload_upper`` with the official worker,
  prints ``{"ready": true}``, and stops when stdin closes.

The orchestration, the same on both sides: ``payload_echo(text)`` calls the activity
``payload_upper(text)`` and returns ``{"loud": <its result>, "length": len(text)}``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

TIMEOUT_SECONDS = 60
INPUT_CHARS = 5000


def _store(args: argparse.Namespace) -> Any:
    from durabletask.extensions.azure_blob_payloads import (
        BlobPayloadStore,
        BlobPayloadStoreOptions,
    )

    return BlobPayloadStore(BlobPayloadStoreOptions(
        connection_string=args.connection_string, container_name=args.container,
        threshold_bytes=args.threshold))


def payload_upper(ctx: Any, text: str) -> str:
    return text.upper()


def payload_echo(ctx: Any, text: str) -> Any:
    loud = yield ctx.call_activity("payload_upper", input=text)
    return {"loud": loud, "length": len(text)}


def _schedule(args: argparse.Namespace) -> int:
    from durabletask import client

    with client.TaskHubGrpcClient(host_address=args.address, payload_store=_store(args)) as c:
        instance_id = c.schedule_new_orchestration("payload_echo", input="o" * INPUT_CHARS)
        state = c.wait_for_orchestration_completion(instance_id, timeout=TIMEOUT_SECONDS)
    assert state is not None
    output = json.loads(state.serialized_output) if state.serialized_output else None
    print(json.dumps({"instance_id": instance_id, "status": str(state.runtime_status),
                      "output": output}))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from durabletask import worker

    logging.getLogger("durabletask").setLevel(logging.WARNING)
    w = worker.TaskHubGrpcWorker(host_address=args.address, payload_store=_store(args))
    w.add_orchestrator(payload_echo)
    w.add_activity(payload_upper)
    w.start()
    try:
        print(json.dumps({"ready": True}), flush=True)
        sys.stdin.read()  # returns when the test closes our stdin
    finally:
        w.stop()
    return 0


def main(argv: list[str]) -> int:
    """Parses ``argv`` and runs the mode; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="official_payload_driver")
    parser.add_argument("mode", choices=["schedule", "worker"])
    parser.add_argument("--address", required=True)
    parser.add_argument("--connection-string", required=True)
    parser.add_argument("--container", required=True)
    parser.add_argument("--threshold", type=int, required=True)
    args = parser.parse_args(argv)
    return _schedule(args) if args.mode == "schedule" else _serve(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
