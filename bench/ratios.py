"""Ratio lines: our figures over the official SDK's, measured in the same run."""

from __future__ import annotations

from typing import Any

# (field, True when smaller is better so the ratio is official / ours)
_COMPARED: dict[str, tuple[str, bool]] = {
    "chain": ("seconds", True),
    "latency": ("p50_ms", True),
}
_DEFAULT_COMPARED = ("rate", False)
_IDLE_MEMORY = ("sdk_peak_rss_waiting_mb", "sidecar_peak_rss_waiting_mb")
# scenario -> (field of our run, field of the grpc_floor bounds, True when smaller is better)
_FLOOR: dict[str, tuple[str, str, bool]] = {
    "hello": ("rate", "hello_max_rate", False),
    "fanout": ("rate", "fanout_max_rate", False),
    "chain": ("ms_per_step", "chain_min_ms_per_step", True),
    "latency": ("p50_ms", "latency_min_p50_ms", True),
}


def _find(lines: list[dict[str, Any]], sdk: str, sidecar: str) -> dict[str, Any] | None:
    for line in lines:
        if line["sdk"] == sdk and line["sidecar"] == sidecar and line["store"] == "memory":
            return line
    return None


def _ratio(ours: dict[str, Any] | None, official: dict[str, Any] | None, field: str,
           smaller_is_better: bool) -> float | None:
    if not ours or not official or field not in ours or field not in official:
        return None
    top, bottom = (official[field], ours[field]) if smaller_is_better else (
        ours[field], official[field])
    return round(top / bottom, 3) if bottom else None


def _of_floor(value: Any, floor: Any, smaller_is_better: bool) -> float | None:
    """How close a figure is to its gRPC floor: 1.0 at the floor, lower further away."""
    if not value or not floor:
        return None
    return round(floor / value if smaller_is_better else value / floor, 3)


def floor_fractions(scenario: str, ours: dict[str, Any] | None,
                    floor: dict[str, Any] | None) -> dict[str, Any]:
    """Our run's figure, and for hello our sidecar's CPU, as fractions of the gRPC floor.

    Args:
        scenario: The scenario name.
        ours: Our SDK on our sidecar (memory store), or None if skipped.
        floor: The ``bounds`` line of ``bench.grpc_floor`` from the same run, or None.
    """
    if ours is None or floor is None or scenario not in _FLOOR:
        return {}
    field, bound, smaller_is_better = _FLOOR[scenario]
    result = {"of_floor": _of_floor(ours.get(field), floor.get(bound), smaller_is_better)}
    if scenario == "hello" and floor.get("sidecar_min_cpu_us_per_hello"):
        result["sidecar_cpu_of_floor"] = _of_floor(
            ours.get("sidecar_cpu_ms_per_item"), floor["sidecar_min_cpu_us_per_hello"] / 1000,
            True)
    return result


def ratio_line(scenario: str, n: int, lines: list[dict[str, Any]],
               floor: dict[str, Any] | None = None) -> dict[str, Any]:
    """Compares our memory-store run with the official SDK's runs of one scenario and size.

    Every ratio is > 1 when we are better: ``ratio`` is our full stack against the
    official full stack (its SDK on its sidecar); ``ratio_same_sidecar`` is our SDK
    against the official SDK, both on our sidecar; ``ratio_official_sidecar`` the
    same on the official sidecar. A ratio is None when either run was skipped.

    Args:
        scenario: The scenario name.
        n: The scenario's size.
        lines: The JSON lines of every run of this scenario and size.
        floor: The ``bounds`` line of ``bench.grpc_floor`` from the same run, if any.
    """
    field, smaller_is_better = _COMPARED.get(scenario, _DEFAULT_COMPARED)
    ours = _find(lines, "ours", "ours")
    official = _find(lines, "official", "official")
    official_on_ours = _find(lines, "official", "ours")
    ours_on_official = _find(lines, "ours", "official")
    result: dict[str, Any] = {
        "scenario": scenario,
        "n": n,
        "compared": field,
        "ratio": _ratio(ours, official, field, smaller_is_better),
        "ratio_same_sidecar": _ratio(ours, official_on_ours, field, smaller_is_better),
        "ratio_official_sidecar": _ratio(ours_on_official, official, field, smaller_is_better),
    }
    # CPU per item of the SDK process, both SDKs on our sidecar: how much work each SDK does.
    result["sdk_cpu_ratio_same_sidecar"] = _ratio(ours, official_on_ours, "sdk_cpu_ms_per_item",
                                                  True)
    # CPU per item of the sidecar process, each SDK on both sidecars: > 1 when ours costs less.
    result["sidecar_cpu_ratio_our_sdk"] = _ratio(ours, ours_on_official,
                                                 "sidecar_cpu_ms_per_item", True)
    result["sidecar_cpu_ratio_official_sdk"] = _ratio(official_on_ours, official,
                                                      "sidecar_cpu_ms_per_item", True)
    result.update(floor_fractions(scenario, ours, floor))
    if scenario == "idle":
        for memory in _IDLE_MEMORY:
            result[f"{memory.removesuffix('_mb')}_ratio"] = _ratio(ours, official, memory, True)
    skipped = [f"{line['sdk']}/{line['sidecar']}/{line['store']}: {line['skipped']}"
               for line in lines if "skipped" in line]
    if skipped:
        result["skipped"] = skipped
    return result
