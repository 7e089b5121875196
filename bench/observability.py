"""Tracing and metrics on vs off: ``hello`` N=1000 with OpenTelemetry absent, idle, recording.

``python -m bench.observability [--n 1000] [--rounds 5]``: each run is a fresh driver process
(``bench/otel_driver.py``) against a fresh in-memory sidecar process; the modes take turns
round by round, each round starting with the next mode, so that a noisy neighbour hits
them alike. Prints one JSON line per run, then a summary line: the median and best wall
time and driver CPU per mode, and the cost of each against ``absent``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.processes import DriverError, clean_env, sidecar_process

DRIVER = Path(__file__).with_name("otel_driver.py")
MICRO = Path(__file__).with_name("otel_micro.py")
MODES = ("absent", "off", "on", "on_no_histograms")
HISTOGRAMS_ENV = "DURABLETASK_OTEL_HISTOGRAMS"  # otel_metrics.HISTOGRAMS_ENV (no import)
RUN_TIMEOUT_SECONDS = 300
BLOCKER = '''import sys


class _NoOpenTelemetry:
    def find_spec(self, name, path=None, target=None):
        if name == "opentelemetry" or name.startswith("opentelemetry."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoOpenTelemetry())
'''


def run(mode: str, n: int, workdir: Path, blocker: Path) -> dict[str, Any]:
    """One run of ``mode`` in a fresh driver against a fresh sidecar."""
    env = clean_env()
    if mode == "absent":
        env["PYTHONPATH"] = str(blocker)
    if mode == "on_no_histograms":
        env[HISTOGRAMS_ENV] = "none"
    with sidecar_process("memory") as (address, pid):
        cmd = [sys.executable, "-s", str(DRIVER), "--mode", mode.removesuffix("_no_histograms"),
               "--address", address, "--n", str(n), "--sidecar-pid", str(pid)]
        try:
            result = subprocess.run(
                cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS, cwd=workdir,
                env=env, stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired as exc:
            raise DriverError(f"{mode} ran past {RUN_TIMEOUT_SECONDS}s") from exc
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise DriverError(f"{mode} exited {result.returncode}: {result.stderr[-3000:]}")
    return {**json.loads(lines[-1]), "mode": mode}


def _rotated(modes: tuple[str, ...], round_no: int) -> tuple[str, ...]:
    """Each round starts with the next mode: a load that drifts within a round (the
    machine's neighbours) does not always favour the same mode."""
    start = round_no % len(modes)
    return modes[start:] + modes[:start]


def micro(rounds: int) -> int:
    """``otel_micro.py`` per mode, ``rounds`` times, modes taking turns; one line per run."""
    best: dict[str, float] = {}
    for round_no in range(rounds):
        for mode in _rotated(MODES[:3], round_no):
            env = clean_env()
            env[HISTOGRAMS_ENV] = "all"
            result = subprocess.run(
                [sys.executable, "-s", str(MICRO), "--mode", mode], capture_output=True,
                text=True, timeout=RUN_TIMEOUT_SECONDS, env=env, stdin=subprocess.DEVNULL,
                check=True)
            figures = json.loads(result.stdout.strip().splitlines()[-1])
            print(json.dumps(figures), flush=True)
            for key in ("us_per_orchestration", "sdk_alone_us"):
                if key in figures:
                    name = mode if key == "us_per_orchestration" else "sdk_alone"
                    best[name] = min(best.get(name, figures[key]), figures[key])
    ours = best["on"] - best["absent"] - best["sdk_alone"]
    print(json.dumps({"summary": "observability_micro", "rounds": rounds,
                      **{f"{k}_best_us": v for k, v in best.items()},
                      "ours_on_us": round(ours, 1)}), flush=True)
    return 0


def summarize(n: int, seconds: dict[str, list[float]], cpu: dict[str, list[float]]
              ) -> dict[str, Any]:
    """Median and best (least disturbed) figures per mode, and their cost against absent."""
    summary: dict[str, Any] = {"summary": "observability", "scenario": "hello", "n": n,
                               "rounds": len(seconds["absent"])}
    for label, pick in (("median", statistics.median), ("best", min)):
        base, base_cpu = pick(seconds["absent"]), pick(cpu["absent"])
        for mode in MODES:
            wall, used = pick(seconds[mode]), pick(cpu[mode])
            summary[f"{mode}_{label}_seconds"] = round(wall, 3)
            summary[f"{mode}_{label}_sdk_cpu_ms_per_item"] = round(used, 3)
            if mode != "absent":
                summary[f"{mode}_{label}_cost_pct"] = round(100 * (wall - base) / base, 1)
                summary[f"{mode}_{label}_cpu_cost_pct"] = round(
                    100 * (used - base_cpu) / base_cpu, 1)
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--micro", action="store_true",
                        help="in-process calls of one orchestration, ours vs the SDK alone")
    args = parser.parse_args()
    if args.micro:
        return micro(args.rounds)
    seconds: dict[str, list[float]] = {mode: [] for mode in MODES}
    cpu: dict[str, list[float]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory(prefix="dt-bench-otel-") as tmp:
        workdir, blocker = Path(tmp) / "work", Path(tmp) / "blocker"
        workdir.mkdir()
        blocker.mkdir()
        (blocker / "sitecustomize.py").write_text(BLOCKER)
        for round_no in range(args.rounds):
            for mode in _rotated(MODES, round_no):
                figures = run(mode, args.n, workdir, blocker)
                print(json.dumps(figures), flush=True)
                seconds[mode].append(figures["seconds"])
                cpu[mode].append(figures["sdk_cpu_ms_per_item"])
    print(json.dumps(summarize(args.n, seconds, cpu)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
