"""Our engine emits the official worker's entity messages, byte for byte (stack traces aside).

``golden_entities/*.json`` were recorded by running ``entity_scenarios`` and
``entity_batch_scenarios`` through the OFFICIAL durabletask 1.12.0 worker
(``golden_entities/record_official.py``, in the official venv and its own process).

* Each orchestration episode is replayed here from its full history, as a sidecar without
  an orchestration cache would send it, and must give the same actions: request ids,
  critical-section ids, lock sets, unlock order, action ids, the continue-as-new ordering
  and the failure shapes.
* Each entity work item must give the same ``EntityBatchResult`` (operation start and end
  times aside): results, failure details, actions, state and operation infos.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from durabletask.internal.engine import OrchestrationExecutor, Registry
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from tests.durabletask.engine import entity_batch_scenarios, entity_scenarios
from tests.durabletask.engine.entity_histories import new_entity_executor

GOLDEN_DIR = Path(__file__).parent / "golden_entities"
GOLDEN_FILES = sorted(GOLDEN_DIR.glob("*.json"))
BATCH_FILES = sorted((GOLDEN_DIR / "batches").glob("*.json"))


def _events(items: list[dict[str, Any]]) -> list[pb.HistoryEvent]:
    return [json_format.ParseDict(item, pb.HistoryEvent()) for item in items]


def _without(value: Any, *keys: str) -> Any:
    if isinstance(value, dict):
        return {k: _without(v, *keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_without(v, *keys) for v in value]
    return value


def _executor() -> OrchestrationExecutor:
    registry = Registry()
    for orchestrator, _ in entity_scenarios.SCENARIOS.values():
        registry.add_orchestrator(orchestrator)
    return OrchestrationExecutor(registry)


def test_every_scenario_has_a_recording():
    assert {p.stem for p in GOLDEN_FILES} == set(entity_scenarios.SCENARIOS)
    assert {p.stem for p in BATCH_FILES} == set(entity_batch_scenarios.BATCHES)


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=[p.stem for p in GOLDEN_FILES])
def test_episodes_replay_to_the_official_actions(path: Path):
    executor = _executor()
    for number, episode in enumerate(json.loads(path.read_text())["episodes"]):
        results = executor.execute(
            episode["instanceId"], _events(episode["pastEvents"]), _events(episode["newEvents"])
        )
        actual = [_without(json_format.MessageToDict(a), "stackTrace") for a in results.actions]
        assert actual == episode["expectedActions"], f"episode {number}"


@pytest.mark.parametrize("path", BATCH_FILES, ids=[p.stem for p in BATCH_FILES])
def test_entity_work_items_give_the_official_batch_result(path: Path):
    name = path.stem
    executor = new_entity_executor(*entity_batch_scenarios.ENTITIES.items())
    request = entity_batch_scenarios.build_request(entity_batch_scenarios.BATCHES[name], pb)

    outcome = executor.execute(request, "tok-1")

    assert outcome.result is not None
    actual = json_format.MessageToDict(outcome.result)
    expected = json.loads(path.read_text())["expectedResult"]
    assert _without(actual, "stackTrace", "startTimeUtc", "endTimeUtc") == expected
