"""Measures large-payload round trips with whichever durabletask is importable.

Run as ``python -I bench/payload_driver.py ...`` from an empty temporary directory (as
``bench/driver.py``), under our venv or the official one. Uses only the public API and
``BlobPayloadStore`` (both SDKs have it); ``--store file`` needs our ``FilePayloadStore``.

``--address HOST:PORT --store blob|file|none [--connection-string CS] [--folder DIR]
--sizes BYTES,... --n N``: for each size, N orchestrations one after the other, each
passing a payload of that many (serialized JSON) bytes to an activity that returns it,
and returning it; prints one JSON line per size: the latencies and the CPU time of this
process (client and worker).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import uuid
from typing import Any

WAIT_TIMEOUT_SECONDS = 120


def relay(ctx: Any, text: str) -> str:
    """Activity: returns its input."""
    return text


def round_trip(ctx: Any, text: str) -> Any:
    """The payload goes to the activity and back, then out as the output."""
    return (yield ctx.call_activity(relay, input=text))


def _store(args: argparse.Namespace) -> Any:
    if args.store == "none":
        return None
    if args.store == "file":
        from durabletask.payload import FilePayloadStore

        return FilePayloadStore(args.folder)
    from durabletask.extensions.azure_blob_payloads import (
        BlobPayloadStore,
        BlobPayloadStoreOptions,
    )

    return BlobPayloadStore(BlobPayloadStoreOptions(
        connection_string=args.connection_string,
        container_name=f"bench-{uuid.uuid4().hex[:8]}"))


def _cpu_seconds() -> float:
    return time.process_time()


def _measure(c: Any, size: int, n: int) -> dict[str, Any]:
    from durabletask import client

    text = "x" * (size - 2)  # JSON adds the two quotes
    latencies = []
    cpu = _cpu_seconds()
    for _ in range(n):
        started = time.perf_counter()
        instance_id = c.schedule_new_orchestration(round_trip, input=text)
        state = c.wait_for_orchestration_completion(instance_id, timeout=WAIT_TIMEOUT_SECONDS)
        if state is None or state.runtime_status != client.OrchestrationStatus.COMPLETED:
            raise RuntimeError(f"{instance_id} did not complete: {state}")
        if len(state.serialized_output or "") != size:
            raise RuntimeError(f"{instance_id} returned {len(state.serialized_output or '')} "
                               f"bytes, expected {size}")
        latencies.append(1000 * (time.perf_counter() - started))
    return {
        "size_bytes": size,
        "latencies_ms": [round(x, 3) for x in latencies],
        "sdk_cpu_ms": round(1000 * (_cpu_seconds() - cpu), 3),
    }


def main(argv: list[str]) -> int:
    """Parses ``argv``, runs every size and prints the JSON lines."""
    parser = argparse.ArgumentParser(prog="payload_driver")
    parser.add_argument("--address", required=True)
    parser.add_argument("--store", choices=["blob", "file", "none"], required=True)
    parser.add_argument("--connection-string")
    parser.add_argument("--folder")
    parser.add_argument("--sizes", required=True)
    parser.add_argument("--n", type=int, required=True)
    args = parser.parse_args(argv)
    from durabletask import client, worker

    logging.getLogger("durabletask").setLevel(logging.WARNING)
    store = _store(args)
    w = worker.TaskHubGrpcWorker(host_address=args.address, payload_store=store)
    w.add_orchestrator(round_trip)
    w.add_activity(relay)
    with w, client.TaskHubGrpcClient(host_address=args.address, payload_store=store) as c:
        w.start()
        _measure(c, 300_000, 1)  # untimed warm-up: connections, the blob container
        for size in (int(s) for s in args.sizes.split(",")):
            print(json.dumps(_measure(c, size, args.n)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
