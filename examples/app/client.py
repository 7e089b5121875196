"""The client process: ``python -m examples.app.client --address HOST:PORT NAME...``.

Starts one orchestration by name (the client does not need the worker's code), waits for it
and prints its output. Exit code 0 when it completed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import logging
import sys

from durabletask import client


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", default="localhost:4001", help="the sidecar's host:port")
    parser.add_argument("names", nargs="+")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    with client.TaskHubGrpcClient(host_address=args.address) as c:
        instance_id = c.schedule_new_orchestration("greetings", input=args.names)
        state = c.wait_for_orchestration_completion(instance_id, timeout=60)
    if state is None or state.runtime_status != client.OrchestrationStatus.COMPLETED:
        print(f"{instance_id} did not complete: {state}", file=sys.stderr)
        return 1
    print(state.serialized_output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
