"""Runs one benchmark scenario with whichever durabletask is importable.

Run as ``python -I bench/driver.py ...`` from a temporary directory, so that the
interpreter's own ``durabletask`` is the one measured: our venv's python measures
our SDK, the official venv's python measures ``durabletask==1.12.0``.

* ``run --address HOST:PORT --scenario NAME --n N --sidecar-pid PID``: runs the
  scenario (``bench/scenarios.py``, loaded by path) with a fresh client and worker
  and prints its figures as one JSON line.

The official sidecar is started by the interop tests' driver
(``tests/durabletask/interop/official_driver.py sidecar --max-history-size N``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any


def load_scenarios() -> ModuleType:
    """Load ``scenarios.py`` by path (the driver runs from an empty directory)."""
    path = Path(__file__).with_name("scenarios.py")
    spec = importlib.util.spec_from_file_location("durabletask_bench_scenarios", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _emit(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """Parses the mode and runs it.

    Args:
        argv: Command-line arguments (``sys.argv[1:]`` when None).

    Returns:
        The process exit code.
    """
    parser = argparse.ArgumentParser(description=__doc__)
    modes = parser.add_subparsers(dest="mode", required=True)
    run = modes.add_parser("run")
    run.add_argument("--address", required=True)
    run.add_argument("--scenario", required=True)
    run.add_argument("--n", type=int, required=True)
    run.add_argument("--sidecar-pid", type=int, required=True)
    args = parser.parse_args(argv)
    scenarios = load_scenarios()
    _emit(scenarios.measure(args.address, args.scenario, args.n, args.sidecar_pid))
    return 0


if __name__ == "__main__":
    sys.exit(main())
