"""Builds the rewritten history that rewinds a failed orchestration (``executionRewound``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from durabletask.internal.engine import actions
from durabletask.internal.proto import orchestrator_service_pb2 as pb

__all__ = ["build_rewind_action", "is_rewind_request"]

_REWIND_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_OID, "durabletask-python/rewind")
_DROPPED_KINDS = frozenset({"taskFailed", "subOrchestrationInstanceFailed", "executionCompleted"})


def is_rewind_request(
    past_events: Sequence[pb.HistoryEvent], new_events: Sequence[pb.HistoryEvent]
) -> bool:
    """True when a new ``executionRewound`` meets a completed execution in past events."""
    return any(e.HasField("executionRewound") for e in new_events) and any(
        e.HasField("executionCompleted") for e in past_events
    )


def _failed_schedule_indexes(past_events: Sequence[pb.HistoryEvent]) -> set[int]:
    """Indexes of the scheduling events whose attempt ended in a failure."""
    last_scheduled: dict[tuple[str, int], int] = {}
    dropped: set[int] = set()
    for index, event in enumerate(past_events):
        kind = event.WhichOneof("eventType")
        if kind == "taskScheduled":
            last_scheduled[("task", event.eventId)] = index
        elif kind == "subOrchestrationInstanceCreated":
            last_scheduled[("sub", event.eventId)] = index
        elif kind == "taskFailed":
            key = ("task", event.taskFailed.taskScheduledId)
            if key in last_scheduled:
                dropped.add(last_scheduled[key])
        elif kind == "subOrchestrationInstanceFailed":
            key = ("sub", event.subOrchestrationInstanceFailed.taskScheduledId)
            if key in last_scheduled:
                dropped.add(last_scheduled[key])
    return dropped


def build_rewind_action(
    instance_id: str, past_events: Sequence[pb.HistoryEvent]
) -> pb.OrchestratorAction:
    """Return the ``rewindOrchestration`` action (id -1) for a failed execution.

    The new history is the old one without failed tasks (their ``taskScheduled`` and
    ``taskFailed``), failed sub-orchestrations (created and failed events) and the
    ``executionCompleted`` event, with a fresh execution id in ``executionStarted``.
    """
    dropped = _failed_schedule_indexes(past_events)
    new_history: list[pb.HistoryEvent] = []
    for index, event in enumerate(past_events):
        kind = event.WhichOneof("eventType")
        if index in dropped or kind in _DROPPED_KINDS:
            continue
        if kind == "executionStarted":
            event = _with_new_execution_id(instance_id, event, len(past_events))
        new_history.append(event)
    return actions.new_rewind_action(new_history)


def _with_new_execution_id(
    instance_id: str, event: pb.HistoryEvent, salt: int
) -> pb.HistoryEvent:
    started = pb.HistoryEvent()
    started.CopyFrom(event)
    instance = started.executionStarted.orchestrationInstance
    old = instance.executionId.value if instance.HasField("executionId") else ""
    # Derived, not random, so the engine stays deterministic for the same input.
    fresh = uuid.uuid5(_REWIND_NAMESPACE, f"{instance_id}|{old}|{salt}")
    if not instance.instanceId:
        instance.instanceId = instance_id
    instance.executionId.value = fresh.hex
    return started
