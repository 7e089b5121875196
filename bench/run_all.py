"""`make bench`: runs every scenario and prints one JSON line per run.

Set BENCH_QUICK=1 for small sizes (a smoke run). ``--store memory|sqlite|all``
(default all) picks the stores our sidecar runs on. BENCH_OFFICIAL=1 also runs
every scenario with the official ``durabletask==1.12.0`` (its own venv and
processes), on its own in-memory sidecar and on ours, runs our SDK on the official
sidecar too, and prints one ratio line per scenario and size. Each run is a fresh
driver process (``bench/driver.py``) against a fresh sidecar process, so memory
figures never carry over between runs. First, ``bench/grpc_floor.py`` prints what
gRPC alone costs on this machine and the best figures that allows; last,
``bench/payloads.py`` compares large payloads with the official stack.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from bench.processes import (
    STORES,
    DriverError,
    official_python,
    official_sidecar_process,
    run_driver,
    sidecar_process,
)
from bench.ratios import ratio_line

QUICK = os.environ.get("BENCH_QUICK") == "1"
OFFICIAL = os.environ.get("BENCH_OFFICIAL") == "1"
PLAN = [
    ("hello", [100] if QUICK else [1000]),
    ("fanout", [200] if QUICK else [5000]),
    ("chain", [50] if QUICK else [50, 100, 200, 400, 800]),
    ("latency", [50] if QUICK else [300]),
    ("idle", [500] if QUICK else [10_000]),
    ("entities", [200] if QUICK else [2000]),
]
RUN_TIMEOUT_SECONDS = 600


def main() -> None:
    """Runs the plan and prints the JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", choices=(*STORES, "all"), default="all")
    parser.add_argument("--scenario", choices=[*(name for name, _ in PLAN), "payload"],
                        action="append",
                        help="run only this scenario (repeatable); all by default")
    args = parser.parse_args()
    stores = STORES if args.store == "all" else (args.store,)
    floor = _emit_grpc_floor()
    with tempfile.TemporaryDirectory(prefix="dt-bench-work-") as tmp:
        workdir = Path(tmp)
        official = _official() if OFFICIAL else None
        for scenario, sizes in PLAN:
            if args.scenario and scenario not in args.scenario:
                continue
            for n in sizes:
                lines = [_emit(line) for line in _runs(scenario, n, stores, official, workdir)]
                if official is not None:
                    _emit(ratio_line(scenario, n, lines, floor))
    if not args.scenario or "payload" in args.scenario:
        _emit_module("bench.payloads", "payload")  # always against the official stack
        _emit_module("bench.isolation", "isolation")  # thread vs process activities


def _emit(line: dict[str, Any]) -> dict[str, Any]:
    print(json.dumps(line), flush=True)
    return line


def _emit_grpc_floor() -> dict[str, Any] | None:
    """What gRPC alone costs here (``bench/grpc_floor.py``); returns its ``bounds`` line."""
    lines = _emit_module("bench.grpc_floor", "grpc_floor")
    return next((line for line in lines if line.get("case") == "bounds"), None)


def _emit_module(module: str, scenario: str) -> list[dict[str, Any]]:
    """Run ``python -m module`` and pass its JSON lines on (a ``skipped`` line if it fails)."""
    result = subprocess.run([sys.executable, "-m", module], capture_output=True,
                            text=True, timeout=2 * RUN_TIMEOUT_SECONDS, check=False)
    if result.returncode != 0:
        return [_emit({"scenario": scenario, "skipped": result.stderr[-600:].strip()})]
    return [_emit(json.loads(line)) for line in result.stdout.splitlines()]


def _official() -> Path | None:
    try:
        return official_python()
    except RuntimeError as exc:
        _emit({"sdk": "official", "skipped": str(exc)})
        return None


def _runs(
    scenario: str, n: int, stores: tuple[str, ...], official: Path | None, workdir: Path,
) -> Iterator[dict[str, Any]]:
    ours = Path(sys.executable)
    for store in stores:
        yield _run(ours, "ours", sidecar_process(store), "ours", store, scenario, n, workdir)
    if official is None:
        return
    yield _run(official, "official", official_sidecar_process(official, workdir), "official",
               "memory", scenario, n, workdir)
    yield _run(official, "official", sidecar_process("memory"), "ours", "memory", scenario, n,
               workdir)
    yield _run(ours, "ours", official_sidecar_process(official, workdir), "official", "memory",
               scenario, n, workdir)


def _run(
    python: Path, sdk: str, sidecar: AbstractContextManager[tuple[str, int]], sidecar_name: str,
    store: str, scenario: str, n: int, workdir: Path,
) -> dict[str, Any]:
    tags = {"sdk": sdk, "sidecar": sidecar_name, "store": store}
    try:
        with sidecar as (address, pid):
            figures = run_driver(python, workdir, address, scenario, n, pid, RUN_TIMEOUT_SECONDS)
    except DriverError as exc:
        return {"scenario": scenario, "n": n, **tags, "skipped": str(exc)}
    return {**figures, **tags}


if __name__ == "__main__":
    main()
