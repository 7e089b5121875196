"""The benchmark tools keep working: ratio lines, floor bounds, and one real run end to end.

Speed is measured by ``make bench``, never asserted here; these tests only check that the
tools compute what their READMEs say and that a run produces its figures.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench.grpc_floor import bounds
from bench.processes import run_driver, sidecar_process
from bench.ratios import ratio_line
from bench.sidecar_counts import counted_run


def _line(sdk: str, sidecar: str, **figures) -> dict:
    return {"sdk": sdk, "sidecar": sidecar, "store": "memory", **figures}


def _four_stacks(field: str, values: tuple[float, float, float, float]) -> list[dict]:
    """Lines of ours/ours, official/official, official/ours, ours/official with ``field``."""
    stacks = [("ours", "ours"), ("official", "official"), ("official", "ours"),
              ("ours", "official")]
    rates = (400.0, 200.0, 100.0, 300.0)
    return [_line(sdk, sidecar, rate=rate, **{field: value})
            for (sdk, sidecar), rate, value in zip(stacks, rates, values)]


def test_ratios_are_above_one_when_we_are_better():
    lines = _four_stacks("sdk_cpu_ms_per_item", (1.0, 2.5, 3.0, 1.1))
    result = ratio_line("hello", 10, lines)
    assert result["compared"] == "rate"
    assert result["ratio"] == 2.0
    assert result["ratio_same_sidecar"] == 4.0
    assert result["ratio_official_sidecar"] == 1.5
    assert result["sdk_cpu_ratio_same_sidecar"] == 3.0


def test_sidecar_cpu_ratios_compare_each_sdk_on_both_sidecars():
    lines = _four_stacks("sidecar_cpu_ms_per_item", (2.0, 2.5, 2.0, 3.0))
    result = ratio_line("hello", 10, lines)
    assert result["sidecar_cpu_ratio_our_sdk"] == 1.5
    assert result["sidecar_cpu_ratio_official_sdk"] == 1.25


def test_floor_fractions_are_one_at_the_floor_and_smaller_above_it():
    floor = {"hello_max_rate": 800, "sidecar_min_cpu_us_per_hello": 1500,
             "chain_min_ms_per_step": 1.5}
    hello = ratio_line("hello", 10, [_line("ours", "ours", rate=400.0,
                                           sidecar_cpu_ms_per_item=3.0)], floor)
    assert hello["of_floor"] == 0.5
    assert hello["sidecar_cpu_of_floor"] == 0.5
    chain = ratio_line("chain", 10, [_line("ours", "ours", seconds=1.0, ms_per_step=3.0)], floor)
    assert chain["of_floor"] == 0.5
    assert "of_floor" not in ratio_line("hello", 10, [], floor)


def test_smaller_is_better_fields_invert_the_ratio():
    lines = [_line("ours", "ours", p50_ms=2.0), _line("official", "official", p50_ms=5.0)]
    result = ratio_line("latency", 10, lines)
    assert result["compared"] == "p50_ms"
    assert result["ratio"] == 2.5


def test_a_skipped_run_leaves_its_ratios_empty_and_says_why():
    lines = [_line("ours", "ours", rate=400.0),
             _line("official", "official", skipped="venv unavailable")]
    result = ratio_line("hello", 10, lines)
    assert result["ratio"] is None
    assert result["skipped"] == ["official/official/memory: venv unavailable"]


def test_floor_bounds_follow_the_protocol_call_counts():
    result = bounds(
        {"p50_us": 500.0},
        {"client_cpu_us": 100.0, "server_cpu_us": 100.0},
        {"client_cpu_us": 25.0, "server_cpu_us": 25.0},
        {"client_cpu_us": 60.0, "server_cpu_us": 40.0},
    )
    cores = result["cores"]
    # The completion stream's hello: 2 unary calls, 3 work items, 3 acknowledged completions.
    assert result["hello_cpu_us_per_orchestration"] == 2 * 200 + 3 * 50 + 3 * 100
    assert result["sidecar_min_cpu_us_per_hello"] == 2 * 100 + 3 * 25 + 3 * 40
    assert result["hello_max_rate"] == round(cores * 1e6 / 850)
    assert result["fanout_max_rate"] == round(cores * 1e6 / 150)
    # The standard protocol's: 5 unary calls and 3 work items; a unary call per activity.
    assert result["hello_cpu_us_per_orchestration_unary"] == 5 * 200 + 3 * 50
    assert result["sidecar_min_cpu_us_per_hello_unary"] == 5 * 100 + 3 * 25
    assert result["hello_max_rate_unary"] == round(cores * 1e6 / 1150)
    assert result["fanout_max_rate_unary"] == round(cores * 1e6 / 250)
    assert result["chain_min_ms_per_step"] == 1.5
    assert result["latency_min_p50_ms"] == 2.75


@pytest.mark.slow
def test_a_hello_run_against_our_sidecar_program_reports_its_figures(tmp_path: Path):
    with sidecar_process("memory") as (address, pid):
        figures = run_driver(Path(sys.executable), tmp_path, address, "hello", 5, pid,
                             timeout=120)
    assert figures["scenario"] == "hello"
    assert figures["n"] == 5
    assert figures["rate"] > 0
    assert figures["sdk_cpu_ms_per_item"] > 0
    assert figures["sdk_peak_rss_mb"] > 0
    assert figures["sidecar_peak_rss_mb"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("streamed", [True, False])
def test_sidecar_counts_report_the_protocol_calls_of_each_orchestration(
    monkeypatch: pytest.MonkeyPatch, streamed: bool,
):
    # One hello orchestration is, at the sidecar, exactly: StartInstance, one wait,
    # two orchestrator completions, one activity completion and three streamed work items;
    # the completions are unary calls, or messages on our completion stream (issue 17).
    if not streamed:
        monkeypatch.setenv("DURABLETASK_COMPLETION_STREAM", "0")
    result = counted_run("hello", 5, "memory", "ours")
    per = result["per_orchestration"]
    assert per["rpc.StartInstance"] == 1.0
    if streamed:
        assert per["received.Complete.items"] == 3.0
        assert "rpc.CompleteOrchestratorTask" not in per
    else:
        assert per["rpc.CompleteOrchestratorTask"] == 2.0
        assert per["rpc.CompleteActivityTask"] == 1.0
    assert per["streamed.GetWorkItems"] == 3.0
    assert per["store.commit_episode"] == 2.0
    assert per["tasks"] > 0
    assert per["loop_turns"] > 0


@pytest.mark.slow
def test_sidecar_counts_report_fanout_per_activity_with_stream_message_shares():
    # Fan-out N=20 after the warm-up hello: 21 activities, each completed once on the stream,
    # plus the orchestrator completions (2 of the hello, at least 2 of the fan-out).
    result = counted_run("fanout", 20, "memory", "ours")
    per = result["per_activity"]
    assert "rpc.CompleteActivityTask" not in per
    assert round(per["received.Complete.items"] * 21) >= 21 + 4
    assert result["completions_per_message"] >= 1.0
    assert result["acks_per_message"] >= 1.0
