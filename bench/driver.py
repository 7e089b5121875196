"""Runs one benchmark scenario, or the official sidecar, with whichever durabletask is importable.

Run as ``python -I bench/driver.py ...`` from a temporary directory, so that the
interpreter's own ``durabletask`` is the one measured: our venv's python measures
our SDK, the official venv's python measures ``durabletask==1.12.0``.

* ``run --address HOST:PORT --scenario NAME --n N --sidecar-pid PID``: runs the
  scenario (``bench/scenarios.py``, loaded by path) with a fresh client and worker
  and prints its figures as one JSON line.
* ``official-sidecar --max-history-size N``: starts the official in-memory sidecar
  (``durabletask.testing.create_test_backend``) on a free port, prints
  ``{"port": P}`` and serves until stdin closes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import socket
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

SIDECAR_START_ATTEMPTS = 5


def _load_scenarios() -> ModuleType:
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


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve_official_sidecar(max_history_size: int) -> int:
    from durabletask.testing import create_test_backend  # only in the official package

    logging.getLogger("durabletask").setLevel(logging.WARNING)
    # The official backend cannot bind port 0 and report it: pick a free port, retry on a race.
    last_error: Exception | None = None
    for _ in range(SIDECAR_START_ATTEMPTS):
        port = _free_loopback_port()
        try:
            backend = create_test_backend(port=port, max_history_size=max_history_size)
        except RuntimeError as exc:
            last_error = exc
            continue
        try:
            _emit({"port": port})
            sys.stdin.read()  # returns when the parent closes our stdin
        finally:
            backend.stop(grace=0)
        return 0
    raise RuntimeError(f"official sidecar could not bind a port: {last_error}")


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
    sidecar = modes.add_parser("official-sidecar")
    sidecar.add_argument("--max-history-size", type=int, required=True)
    args = parser.parse_args(argv)
    if args.mode == "official-sidecar":
        return _serve_official_sidecar(args.max_history_size)
    scenarios = _load_scenarios()
    _emit(scenarios.measure(args.address, args.scenario, args.n, args.sidecar_pid))
    return 0


if __name__ == "__main__":
    sys.exit(main())
