"""`python -m bench.payloads`: large payloads through an activity, ours against the official stack.

One orchestration at a time passes a payload to an activity that returns it, and returns
it (the payload crosses the wire four times each way). Sizes: 1 MiB, and one byte below
and above the default threshold (256 KiB), to show what externalizing costs. Stacks, each run
in rounds that alternate with the others' (a fresh sidecar process and driver process,
``bench/payload_driver.py``, per round):

* ours: our SDK on our sidecar (memory store), with no payload store, our
  ``FilePayloadStore``, and ``BlobPayloadStore`` on Azurite;
* official: ``durabletask==1.12.0`` on its own sidecar, with no store and with its
  ``BlobPayloadStore`` on the same Azurite.

Prints one JSON line per stack and size, then per size a ratio line (official / ours of
the p50 latency and of the client+worker CPU per round trip, > 1 when we are better) and
per stack a threshold line (above / below). BENCH_QUICK=1 runs
fewer round trips. Azurite comes from ``.cache/azurite`` (``make azurite``); without it the
blob runs print a ``skipped`` line.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.processes import (
    DriverError,
    clean_env,
    official_python,
    official_sidecar_process,
    sidecar_process,
)

THRESHOLD = 262_144
MIB = 1024 * 1024
SIZES = (MIB, THRESHOLD - 1, THRESHOLD + 1)
QUICK = os.environ.get("BENCH_QUICK") == "1"
N = 4 if QUICK else 24
"""Round trips per stack and size, split over ``ROUNDS`` driver runs."""
ROUNDS = 2 if QUICK else 3
DRIVER = Path(__file__).with_name("payload_driver.py")
RUN_TIMEOUT_SECONDS = 600


def _emit(line: dict[str, Any]) -> dict[str, Any]:
    print(json.dumps(line), flush=True)
    return line


def _drive(python: Path, address: str, store: str, extra: list[str],
           workdir: Path) -> list[dict[str, Any]]:
    import subprocess

    cmd = [str(python), "-I", str(DRIVER), "--address", address, "--store", store,
           "--sizes", ",".join(map(str, SIZES)), "--n", str(N // ROUNDS), *extra]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir,
                                env=clean_env(), timeout=RUN_TIMEOUT_SECONDS,
                                stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired as exc:
        raise DriverError(f"payload run ({store}) ran past {RUN_TIMEOUT_SECONDS}s") from exc
    if result.returncode != 0:
        raise DriverError(f"payload run ({store}) exited {result.returncode}: "
                          f"{result.stderr[-600:].strip()}")
    return [json.loads(line) for line in result.stdout.splitlines()]


class _Stack:
    """One SDK, sidecar and store: its rounds' latencies and CPU, by payload size."""

    def __init__(self, python: Path, sdk: str, sidecar: Callable[[], Any], store: str,
                 extra: list[str]) -> None:
        self.python, self.sdk, self.sidecar, self.store, self.extra = (
            python, sdk, sidecar, store, extra)
        self.latencies: dict[int, list[float]] = {size: [] for size in SIZES}
        self.cpu_ms: dict[int, float] = dict.fromkeys(SIZES, 0.0)
        self.skipped: str | None = None

    def run_round(self, workdir: Path) -> None:
        if self.skipped is not None:
            return
        try:
            with self.sidecar() as (address, _pid):
                figures = _drive(self.python, address, self.store, self.extra, workdir)
        except DriverError as exc:
            self.skipped = str(exc)
            return
        for line in figures:
            self.latencies[line["size_bytes"]] += line["latencies_ms"]
            self.cpu_ms[line["size_bytes"]] += line["sdk_cpu_ms"]

    def lines(self) -> list[dict[str, Any]]:
        tags = {"scenario": "payload", "sdk": self.sdk, "sidecar": self.sdk,
                "payload_store": self.store}
        if self.skipped is not None:
            return [{**tags, "skipped": self.skipped}]
        return [{**tags, "size_bytes": size, "n": len(values),
                 "p50_ms": round(statistics.median(values), 3),
                 "mean_ms": round(statistics.fmean(values), 3),
                 "sdk_cpu_ms_per_round_trip": round(self.cpu_ms[size] / len(values), 3)}
                for size, values in self.latencies.items()]


def _ratio(top: dict[str, Any] | None, bottom: dict[str, Any] | None,
           field: str = "p50_ms") -> float | None:
    if not top or not bottom or field not in top or field not in bottom or not bottom[field]:
        return None
    return round(top[field] / bottom[field], 3)


def _summaries(lines: list[dict[str, Any]]) -> None:
    def find(sdk: str, store: str, size: int) -> dict[str, Any] | None:
        return next((x for x in lines if x["sdk"] == sdk and x["payload_store"] == store
                     and x.get("size_bytes") == size), None)

    for size in SIZES:
        _emit({"scenario": "payload", "size_bytes": size, "compared": "p50_ms",
               "ratio_blob": _ratio(find("official", "blob", size), find("ours", "blob", size)),
               "ratio_no_store": _ratio(find("official", "none", size),
                                        find("ours", "none", size)),
               "ratio_ours_file_vs_official_blob": _ratio(find("official", "blob", size),
                                                          find("ours", "file", size)),
               # CPU of the client+worker process: steadier than latency on a busy machine.
               "sdk_cpu_ratio_blob": _ratio(find("official", "blob", size),
                                            find("ours", "blob", size),
                                            "sdk_cpu_ms_per_round_trip")})
    for sdk, store in sorted({(x["sdk"], x["payload_store"]) for x in lines}):
        below, above = find(sdk, store, THRESHOLD - 1), find(sdk, store, THRESHOLD + 1)
        if below and above and "p50_ms" in below and "p50_ms" in above:
            _emit({"scenario": "payload_threshold", "sdk": sdk, "payload_store": store,
                   "below_p50_ms": below["p50_ms"], "above_p50_ms": above["p50_ms"],
                   "above_over_below": round(above["p50_ms"] / below["p50_ms"], 3)})


def _azurite(workdir: Path) -> Any:
    from tests.durabletask.helpers.azurite import Azurite, unavailable_reason

    reason = unavailable_reason()
    if reason is not None:
        _emit({"scenario": "payload", "payload_store": "blob", "skipped": reason})
        return None
    emulator = Azurite(workdir)
    emulator.start()
    return emulator


def _official() -> Path | None:
    from tests.durabletask.interop.official_blob import ensure_blob_extra

    try:
        return ensure_blob_extra(official_python())
    except Exception as exc:  # the venv or pip failed: say so and measure ours only
        _emit({"scenario": "payload", "sdk": "official", "skipped": str(exc)})
        return None


def _stacks(ours: Path, official: Path | None, blob: list[str] | None,
            workdir: Path) -> list[_Stack]:
    stacks = [_Stack(ours, "ours", lambda: sidecar_process("memory"), "none", []),
              _Stack(ours, "ours", lambda: sidecar_process("memory"), "file",
                     ["--folder", str(workdir / "payloads")])]
    if blob:
        stacks.append(_Stack(ours, "ours", lambda: sidecar_process("memory"), "blob", blob))
    if official is not None:
        def official_sidecar() -> Any:
            return official_sidecar_process(official, workdir)

        stacks.append(_Stack(official, "official", official_sidecar, "none", []))
        if blob:
            stacks.append(_Stack(official, "official", official_sidecar, "blob", blob))
    return stacks


def main() -> int:
    """Runs every stack, in alternating rounds, and prints the JSON lines."""
    lines: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="dt-bench-payloads-") as tmp:
        workdir = Path(tmp)
        (workdir / "azurite").mkdir()
        emulator = _azurite(workdir / "azurite")
        try:
            blob = ["--connection-string", emulator.connection_string] if emulator else None
            stacks = _stacks(Path(sys.executable), _official(), blob, workdir)
            # Rounds alternate the stacks, each round starting one stack later, so that a
            # busy moment of the machine (or being first) does not fall on one stack only.
            for round_index in range(ROUNDS):
                shift = round_index % len(stacks)
                for stack in stacks[shift:] + stacks[:shift]:
                    stack.run_round(workdir)
        finally:
            if emulator is not None:
                emulator.stop()
    for stack in stacks:
        lines += [_emit(line) for line in stack.lines()]
    _summaries([x for x in lines if "skipped" not in x])
    return 0


if __name__ == "__main__":
    sys.exit(main())
