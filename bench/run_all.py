"""`make bench`: runs every scenario and prints one JSON line per run.

Set BENCH_QUICK=1 for small sizes (a smoke run).
"""

from __future__ import annotations

import json
import logging
import os

from durabletask import client, worker

from bench import scenarios
from bench.processes import peak_rss_mb, sidecar_process

QUICK = os.environ.get("BENCH_QUICK") == "1"
PLAN = [
    (scenarios.run_hello, [100] if QUICK else [1000]),
    (scenarios.run_fanout, [200] if QUICK else [5000]),
    (scenarios.run_chain, [50] if QUICK else [50, 100, 200, 400, 800]),
    (scenarios.run_latency, [50] if QUICK else [300]),
]


def main() -> None:
    logging.getLogger("durabletask").setLevel(logging.WARNING)
    for run, sizes in PLAN:
        for n in sizes:
            with sidecar_process() as (address, sidecar_pid):
                w = worker.TaskHubGrpcWorker(host_address=address)
                for fn in scenarios.ORCHESTRATORS:
                    w.add_orchestrator(fn)
                for fn in scenarios.ACTIVITIES:
                    w.add_activity(fn)
                with w, client.TaskHubGrpcClient(host_address=address) as c:
                    w.start()
                    result = run(c, n)
                    result["store"] = "memory"
                    result["sdk_peak_rss_mb"] = round(peak_rss_mb(), 1)
                    result["sidecar_peak_rss_mb"] = round(peak_rss_mb(sidecar_pid), 1)
            print(json.dumps({k: round(v, 3) if isinstance(v, float) else v
                              for k, v in result.items()}), flush=True)


if __name__ == "__main__":
    main()
