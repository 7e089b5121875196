"""Runs under the OFFICIAL durabletask==1.12.0 interpreter: the kitchen sink or its sidecar.

Usage (always as ``python -I official_driver.py ...`` from a temp directory, so
that only the official package is importable):

* ``run --address HOST:PORT [--target NAME] [--no-worker]``: runs the
  kitchen-sink scenarios with the official client (and worker) and prints the
  outcomes as one JSON line on stdout.
* ``sidecar``: starts the official in-memory sidecar on a free port, prints
  ``{"port": N}`` as one JSON line, and serves until stdin closes.
* ``worker --address HOST:PORT``: serves the kitchen sink with the official
  worker, prints ``{"ready": true}``, and stops when stdin closes.
* ``identify``: prints where ``durabletask`` was imported from and its version.
* ``record-histories --out DIR``: starts the official in-memory sidecar, runs the
  workflows of ``replay_workflows.py`` on it with the official client and worker, writes
  their histories (``history.to_dict``) to DIR and prints the instance ids as JSON.
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


def _load_sibling(file_name: str) -> ModuleType:
    path = Path(__file__).with_name(file_name)
    spec = importlib.util.spec_from_file_location(
        f"durabletask_interop_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _load_kitchen_sink() -> ModuleType:
    return _load_sibling("kitchen_sink.py")


def _record_histories(out_dir: str) -> int:
    logging.getLogger("durabletask").setLevel(logging.WARNING)
    workflows = _load_sibling("replay_workflows.py")
    backend, port = _start_official_sidecar(10000)
    try:
        _emit(workflows.record(f"127.0.0.1:{port}", out_dir))
    finally:
        backend.stop(grace=0)
    return 0


def _emit(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_official_sidecar(max_history_size: int) -> tuple[Any, int]:
    from durabletask.testing import create_test_backend

    # The official backend cannot bind port 0 and report it, so pick a free port
    # and retry if another process grabbed it in between.
    last_error: Exception | None = None
    for _ in range(SIDECAR_START_ATTEMPTS):
        port = _free_loopback_port()
        try:
            return create_test_backend(port=port, max_history_size=max_history_size), port
        except RuntimeError as exc:
            last_error = exc
    raise RuntimeError(f"official sidecar could not bind a port: {last_error}")


def _serve_sidecar(max_history_size: int) -> int:
    logging.getLogger("durabletask").setLevel(logging.WARNING)
    backend, port = _start_official_sidecar(max_history_size)
    try:
        _emit({"port": port})
        sys.stdin.read()  # returns when the test closes our stdin
    finally:
        backend.stop(grace=0)
    return 0


def _serve_worker(address: str) -> int:
    kitchen_sink = _load_kitchen_sink()
    w = kitchen_sink.new_worker(address)
    w.start()
    try:
        _emit({"ready": True})
        sys.stdin.read()
    finally:
        w.stop()
    return 0


def _identify() -> int:
    import importlib.metadata

    import durabletask

    _emit({"file": durabletask.__file__, "version": importlib.metadata.version("durabletask")})
    return 0


def main(argv: list[str]) -> int:
    """Parses ``argv`` and runs the requested mode; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="official_driver")
    sub = parser.add_subparsers(dest="mode", required=True)
    run = sub.add_parser("run")
    run.add_argument("--address", required=True)
    run.add_argument("--target", default=None)
    run.add_argument("--no-worker", action="store_true")
    sidecar = sub.add_parser("sidecar")
    sidecar.add_argument("--max-history-size", type=int, default=10000)
    serve = sub.add_parser("worker")
    serve.add_argument("--address", required=True)
    sub.add_parser("identify")
    recording = sub.add_parser("record-histories")
    recording.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.mode == "identify":
        return _identify()
    if args.mode == "record-histories":
        return _record_histories(args.out)
    if args.mode == "sidecar":
        return _serve_sidecar(args.max_history_size)
    if args.mode == "worker":
        return _serve_worker(args.address)
    kitchen_sink = _load_kitchen_sink()
    _emit(kitchen_sink.run_scenarios(
        args.address, with_worker=not args.no_worker, target=args.target))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
