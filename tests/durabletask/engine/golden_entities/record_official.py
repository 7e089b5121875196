"""Records the OFFICIAL worker's entity behaviour as golden JSON files.

* ``<scenario>.json``: each episode of ``entity_scenarios`` through the official
  orchestration executor (history in, actions out);
* ``batches/<scenario>.json``: each work item of ``entity_batch_scenarios`` through the
  official worker's entity batch execution (work item in, ``EntityBatchResult`` out).

Runs only under the official durabletask==1.12.0 interpreter, from a directory where our
package is not importable, e.g. from the repository root::

    cd /tmp && <repo>/.venv-official/bin/python -I \\
        <repo>/tests/durabletask/engine/golden_entities/record_official.py

For orchestrations it plays a minimal sidecar: each episode's actions are confirmed in
history with the events a sidecar records for them, then the scenario's next step answers
them. Each episode is written as ``{instanceId, pastEvents, newEvents, expectedActions}``.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from google.protobuf import json_format

import durabletask.internal.orchestrator_service_pb2 as pb
from durabletask import worker
from durabletask.serialization import JsonDataConverter

HERE = Path(__file__).resolve().parent
INSTANCE_ID = "entity-orch"
T0 = datetime(2024, 1, 1, 12, 0, 0)


def _load(module_name: str) -> Any:
    path = HERE.parent / f"{module_name}.py"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def _started(step: int) -> pb.HistoryEvent:
    event = pb.HistoryEvent(eventId=-1)
    event.timestamp.FromDatetime(T0 + timedelta(seconds=step))
    event.orchestratorStarted.SetInParent()
    return event


def _execution_started(name: str, value: Any) -> pb.HistoryEvent:
    event = pb.HistoryEvent(eventId=-1)
    event.executionStarted.name = name
    event.executionStarted.orchestrationInstance.instanceId = INSTANCE_ID
    if value is not None:
        event.executionStarted.input.value = json.dumps(value)
    return event


def _confirmations(actions: list[pb.OrchestratorAction]) -> list[pb.HistoryEvent]:
    events = []
    for action in actions:
        if action.HasField("sendEntityMessage"):
            message = action.sendEntityMessage
            kind = message.WhichOneof("EntityMessageType")
            event = pb.HistoryEvent(eventId=action.id)
            getattr(event, kind).CopyFrom(getattr(message, kind))
            events.append(event)
    return events


def _take(outstanding: list[pb.OrchestratorAction], kind: str, target: str | None) -> Any:
    for action in outstanding:
        message = getattr(action.sendEntityMessage, kind)
        if action.sendEntityMessage.HasField(kind) and (
            target is None or message.targetInstanceId.value == target
        ):
            outstanding.remove(action)
            return message
    raise AssertionError(f"nothing outstanding for {kind} {target}")


def _answer(step: tuple[Any, ...], outstanding: list[pb.OrchestratorAction]) -> pb.HistoryEvent:
    event = pb.HistoryEvent(eventId=-1)
    if step[0] == "grant":
        lock = _take(outstanding, "entityLockRequested", None)
        event.entityLockGranted.criticalSectionId = lock.criticalSectionId
        return event
    call = _take(outstanding, "entityOperationCalled", step[1])
    if step[0] == "complete":
        event.entityOperationCompleted.requestId = call.requestId
        if step[2] is not None:
            event.entityOperationCompleted.output.value = json.dumps(step[2])
    else:
        failed = event.entityOperationFailed
        failed.requestId = call.requestId
        failed.failureDetails.errorType = "builtins.ValueError"
        failed.failureDetails.errorMessage = step[2]
    return event


def _without_stack_traces(value: Any) -> Any:
    """Stack traces name local paths and lines: not part of the contract."""
    if isinstance(value, dict):
        return {k: _without_stack_traces(v) for k, v in value.items() if k != "stackTrace"}
    if isinstance(value, list):
        return [_without_stack_traces(v) for v in value]
    return value


def _record(name: str, orchestrator: Any, steps: list[tuple[Any, ...]]) -> list[Any]:
    registry = worker._Registry()
    registry.add_orchestrator(orchestrator)
    executor = worker._OrchestrationExecutor(
        registry, logging.getLogger("recorder"), JsonDataConverter())
    episodes: list[Any] = []
    history: list[pb.HistoryEvent] = []
    outstanding: list[pb.OrchestratorAction] = []
    for number, step in enumerate(steps):
        if step[0] == "start":  # a new execution (first, or after continue-as-new)
            history, outstanding = [], []
            new = [_started(number), _execution_started(name, step[1])]
        else:
            new = [_started(number), _answer(step, outstanding)]
        actions = list(executor.execute(INSTANCE_ID, history, new).actions)
        episodes.append({
            "instanceId": INSTANCE_ID,
            "pastEvents": [json_format.MessageToDict(e) for e in history],
            "newEvents": [json_format.MessageToDict(e) for e in new],
            "expectedActions": [_without_stack_traces(json_format.MessageToDict(a))
                                for a in actions],
        })
        history = [*history, *new, *_confirmations(actions)]
        outstanding += [a for a in actions if a.HasField("sendEntityMessage")]
    return episodes


class _Stub:
    """Stands in for the sidecar stub the official worker completes the batch through."""

    def CompleteEntityTask(self, result: Any) -> None:  # noqa: N802 - the RPC's name
        pass


def _without_clocks(value: Any) -> Any:
    """Operation start and end times are wall-clock readings: not comparable."""
    if isinstance(value, dict):
        return {k: _without_clocks(v) for k, v in value.items()
                if k not in ("startTimeUtc", "endTimeUtc")}
    if isinstance(value, list):
        return [_without_clocks(v) for v in value]
    return value


def _record_batches() -> None:
    scenarios = _load("entity_batch_scenarios")
    official = worker.TaskHubGrpcWorker()
    for name, entity in scenarios.ENTITIES.items():
        official.add_entity(entity, name=name)
    for name, spec in scenarios.BATCHES.items():
        request = scenarios.build_request(spec, pb)
        result = official._execute_entity_batch(request, _Stub(), "tok-1")
        expected = _without_clocks(_without_stack_traces(json_format.MessageToDict(result)))
        path = HERE / "batches" / f"{name}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps({"scenario": name, "expectedResult": expected}, indent=1)
                        + "\n")
        sys.stdout.write(f"recorded batches/{path.name}\n")


def main() -> int:
    logging.disable(logging.CRITICAL)  # failing operations are logged with tracebacks
    _record_batches()
    scenarios = _load("entity_scenarios")
    for name, (orchestrator, steps) in scenarios.SCENARIOS.items():
        episodes = _record(orchestrator.__name__, orchestrator, steps)
        path = HERE / f"{name}.json"
        path.write_text(json.dumps({"scenario": name, "episodes": episodes}, indent=1) + "\n")
        sys.stdout.write(f"recorded {path.name}: {len(episodes)} episodes\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
