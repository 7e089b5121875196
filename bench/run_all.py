"""`make bench`: runs every scenario and prints one JSON line per run.

Set BENCH_QUICK=1 for small sizes (a smoke run). ``--store memory|sqlite|all``
(default all) picks the sidecar stores each scenario runs on.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Callable
from typing import Any

from durabletask import client, worker

from bench import scenarios
from bench.processes import STORES, peak_rss_mb, sidecar_process

QUICK = os.environ.get("BENCH_QUICK") == "1"
PLAN = [
    (scenarios.run_hello, [100] if QUICK else [1000]),
    (scenarios.run_fanout, [200] if QUICK else [5000]),
    (scenarios.run_chain, [50] if QUICK else [50, 100, 200, 400, 800]),
    (scenarios.run_latency, [50] if QUICK else [300]),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", choices=(*STORES, "all"), default="all")
    stores = STORES if (store := parser.parse_args().store) == "all" else (store,)
    logging.getLogger("durabletask").setLevel(logging.WARNING)
    for run, sizes in PLAN:
        for n in sizes:
            for store_name in stores:
                print(json.dumps(_measure(run, n, store_name)), flush=True)


def _measure(
    run: Callable[[client.TaskHubGrpcClient, int], dict[str, Any]], n: int, store: str
) -> dict[str, Any]:
    with sidecar_process(store) as (address, sidecar_pid):
        w = worker.TaskHubGrpcWorker(host_address=address)
        for orchestrator in scenarios.ORCHESTRATORS:
            w.add_orchestrator(orchestrator)
        for activity in scenarios.ACTIVITIES:
            w.add_activity(activity)
        with w, client.TaskHubGrpcClient(host_address=address) as c:
            w.start()
            result = run(c, n)
            result["store"] = store
            result["sdk_peak_rss_mb"] = round(peak_rss_mb(), 1)
            result["sidecar_peak_rss_mb"] = round(peak_rss_mb(sidecar_pid), 1)
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}


if __name__ == "__main__":
    main()
