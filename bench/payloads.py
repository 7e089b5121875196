"""`python -m bench.payloads`: large payloads through an activity, ours against the official stack.

One orchestration at a time passes a payload to an activity that returns it, and returns
it (the payload crosses the wire four times each way). Sizes: 1 MiB, and one byte below
and above the default threshold (256 KiB), to show what externalizing costs. Stacks, each
with a fresh sidecar process and driver process (``bench/payload_driver.py``):

* ours: our SDK on our sidecar (memory store), with no payload store, our
  ``FilePayloadStore``, and ``BlobPayloadStore`` on Azurite;
* official: ``durabletask==1.12.0`` on its own sidecar, with no store and with its
  ``BlobPayloadStore`` on the same Azurite.

Prints one JSON line per stack and size, then per size a ratio line (official p50 / ours,
> 1 when we are faster) and per stack a threshold line (above / below). BENCH_QUICK=1 runs
fewer round trips. Azurite comes from ``.cache/azurite`` (``make azurite``); without it the
blob runs print a ``skipped`` line.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager
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
N = 5 if os.environ.get("BENCH_QUICK") == "1" else 20
DRIVER = Path(__file__).with_name("payload_driver.py")
RUN_TIMEOUT_SECONDS = 600


def _emit(line: dict[str, Any]) -> dict[str, Any]:
    print(json.dumps(line), flush=True)
    return line


def _drive(python: Path, address: str, store: str, extra: list[str],
           workdir: Path) -> list[dict[str, Any]]:
    import subprocess

    cmd = [str(python), "-I", str(DRIVER), "--address", address, "--store", store,
           "--sizes", ",".join(map(str, SIZES)), "--n", str(N), *extra]
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


def _stack(python: Path, sdk: str, sidecar: AbstractContextManager[tuple[str, int]],
           store: str, extra: list[str], workdir: Path) -> Iterator[dict[str, Any]]:
    tags = {"scenario": "payload", "sdk": sdk, "sidecar": sdk, "payload_store": store}
    try:
        with sidecar as (address, _pid):
            figures = _drive(python, address, store, extra, workdir)
    except DriverError as exc:
        yield _emit({**tags, "skipped": str(exc)})
        return
    for line in figures:
        yield _emit({**tags, **line})


def _ratio(top: dict[str, Any] | None, bottom: dict[str, Any] | None) -> float | None:
    if not top or not bottom or "p50_ms" not in top or "p50_ms" not in bottom:
        return None
    return round(top["p50_ms"] / bottom["p50_ms"], 3)


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
                                                          find("ours", "file", size))})
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


def main() -> int:
    """Runs every stack and prints the JSON lines."""
    ours = Path(sys.executable)
    lines: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="dt-bench-payloads-") as tmp:
        workdir = Path(tmp)
        (workdir / "azurite").mkdir()
        emulator = _azurite(workdir / "azurite")
        try:
            blob = ["--connection-string", emulator.connection_string] if emulator else None
            official = _official()
            lines += _stack(ours, "ours", sidecar_process("memory"), "none", [], workdir)
            lines += _stack(ours, "ours", sidecar_process("memory"), "file",
                            ["--folder", str(workdir / "payloads")], workdir)
            if blob:
                lines += _stack(ours, "ours", sidecar_process("memory"), "blob", blob, workdir)
            if official is not None:
                lines += _stack(official, "official", official_sidecar_process(official, workdir),
                                "none", [], workdir)
                if blob:
                    lines += _stack(official, "official",
                                    official_sidecar_process(official, workdir), "blob", blob,
                                    workdir)
        finally:
            if emulator is not None:
                emulator.stop()
    _summaries([x for x in lines if "skipped" not in x])
    return 0


if __name__ == "__main__":
    sys.exit(main())
