"""Our engine emits the official worker's entity actions, byte for byte (stack traces aside).

``golden_entities/*.json`` were recorded by running ``entity_scenarios`` through the
OFFICIAL durabletask 1.12.0 executor (``golden_entities/record_official.py``, in the
official venv and its own process). Each episode is replayed here from its full history,
as a sidecar without an orchestration cache would send it, and must give the same
actions: request ids, critical-section ids, lock sets, unlock order, action ids, the
continue-as-new ordering and the failure shapes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from durabletask.internal.engine import OrchestrationExecutor, Registry
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from tests.durabletask.engine import entity_scenarios

GOLDEN_DIR = Path(__file__).parent / "golden_entities"
GOLDEN_FILES = sorted(GOLDEN_DIR.glob("*.json"))


def _events(items: list[dict[str, Any]]) -> list[pb.HistoryEvent]:
    return [json_format.ParseDict(item, pb.HistoryEvent()) for item in items]


def _without_stack_traces(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_stack_traces(v) for k, v in value.items() if k != "stackTrace"}
    if isinstance(value, list):
        return [_without_stack_traces(v) for v in value]
    return value


def _executor() -> OrchestrationExecutor:
    registry = Registry()
    for orchestrator, _ in entity_scenarios.SCENARIOS.values():
        registry.add_orchestrator(orchestrator)
    return OrchestrationExecutor(registry)


def test_every_scenario_has_a_recording():
    assert {p.stem for p in GOLDEN_FILES} == set(entity_scenarios.SCENARIOS)


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=[p.stem for p in GOLDEN_FILES])
def test_episodes_replay_to_the_official_actions(path: Path):
    executor = _executor()
    for number, episode in enumerate(json.loads(path.read_text())["episodes"]):
        results = executor.execute(
            episode["instanceId"], _events(episode["pastEvents"]), _events(episode["newEvents"])
        )
        actual = [_without_stack_traces(json_format.MessageToDict(a)) for a in results.actions]
        assert actual == episode["expectedActions"], f"episode {number}"
