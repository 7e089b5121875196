"""A scripted worker for sidecar tests: raw GetWorkItems stream plus action builders."""

from __future__ import annotations

import queue
import threading
import time
from datetime import datetime, timedelta, timezone

import grpc
from google.protobuf import timestamp_pb2

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc

_END = object()


class FakeWorker:
    """Opens a GetWorkItems stream on a real channel and answers items by hand."""

    def __init__(self, stub: pb_grpc.TaskHubSidecarServiceStub, request: pb.GetWorkItemsRequest,
                 metadata: tuple[tuple[str, str], ...] | None = None):
        self.stub = stub
        self._call = stub.GetWorkItems(request, metadata=metadata)
        self._items: queue.Queue = queue.Queue()
        self._buffer: list[pb.WorkItem] = []
        self.pings = 0
        self.error: grpc.RpcError | None = None
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for item in self._call:
                self._items.put(item)
        except grpc.RpcError as exc:
            self.error = exc
        finally:
            self._items.put(_END)

    def close(self) -> None:
        """Drop the stream (as a crashing worker would) and join the reader."""
        self._call.cancel()
        self._thread.join(5)

    def ended(self) -> bool:
        """True once the stream has ended (the sidecar closed it, or it failed)."""
        return not self._thread.is_alive()

    def next(self, *, timeout: float = 5.0, pings: bool = False) -> pb.WorkItem:
        """Return the next work item (health pings skipped unless ``pings``)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no work item within {timeout}s")
            try:
                item = self._items.get(timeout=remaining)
            except queue.Empty:
                raise AssertionError(f"no work item within {timeout}s") from None
            if item is _END:
                self._items.put(_END)
                raise AssertionError(f"work item stream ended: {self.error}")
            if item.HasField("healthPing"):
                self.pings += 1
                if not pings:
                    continue
            return item

    def take(self, kind: str, instance_id: str | None = None, timeout: float = 5.0) -> pb.WorkItem:
        """Return the next item of ``kind`` (for ``instance_id``), buffering others."""
        for item in self._buffer:
            if _matches(item, kind, instance_id):
                self._buffer.remove(item)
                return item
        deadline = time.monotonic() + timeout
        while True:
            item = self.next(timeout=max(0.001, deadline - time.monotonic()))
            if _matches(item, kind, instance_id):
                return item
            self._buffer.append(item)

    def orchestration(self, instance_id: str | None = None, timeout: float = 5.0) -> pb.WorkItem:
        """Return the next orchestrator work item (for ``instance_id``)."""
        return self.take("orchestratorRequest", instance_id, timeout)

    def activity(self, instance_id: str | None = None, timeout: float = 5.0) -> pb.WorkItem:
        """Return the next activity work item (for ``instance_id``)."""
        return self.take("activityRequest", instance_id, timeout)

    def entity(self, entity_id: str | None = None, timeout: float = 5.0) -> pb.WorkItem:
        """Return the next entity batch (``entityRequestV2``) for ``entity_id``."""
        return self.take("entityRequestV2", entity_id, timeout)

    def complete_entity(
        self,
        item: pb.WorkItem,
        results: list[pb.OperationResult] | None = None,
        *,
        state: str | None = None,
        actions: list[pb.OperationAction] = (),  # type: ignore[assignment]
    ) -> None:
        """Answer an entity batch; by default every operation succeeds without output."""
        ops = item.entityRequestV2.operationRequests
        result = pb.EntityBatchResult(
            completionToken=item.completionToken,
            results=results if results is not None else [success() for _ in ops],
            actions=actions,
        )
        if state is not None:
            result.entityState.value = state
        self.stub.CompleteEntityTask(result, timeout=5)

    def expect_nothing(self, within: float = 0.2) -> None:
        """Assert no work item (other than pings) arrives within ``within`` seconds."""
        assert not self._buffer, f"unexpected buffered items: {self._buffer}"
        try:
            item = self.next(timeout=within)
        except AssertionError:
            return
        raise AssertionError(f"unexpected work item: {item}")

    def complete(
        self, item: pb.WorkItem, *actions: pb.OrchestratorAction, custom_status: str | None = None
    ) -> None:
        """Answer an orchestrator work item with ``actions``."""
        response = pb.OrchestratorResponse(
            instanceId=item.orchestratorRequest.instanceId,
            completionToken=item.completionToken,
            actions=actions,
        )
        if custom_status is not None:
            response.customStatus.value = custom_status
        self.stub.CompleteOrchestratorTask(response, timeout=5)

    def complete_activity(
        self,
        item: pb.WorkItem,
        result: str | None = None,
        failure: pb.TaskFailureDetails | None = None,
    ) -> None:
        """Answer an activity work item with a result or a failure."""
        req = item.activityRequest
        response = pb.ActivityResponse(
            instanceId=req.orchestrationInstance.instanceId,
            taskId=req.taskId,
            completionToken=item.completionToken,
        )
        if result is not None:
            response.result.value = result
        if failure is not None:
            response.failureDetails.CopyFrom(failure)
        self.stub.CompleteActivityTask(response, timeout=5)


def _matches(item: pb.WorkItem, kind: str, instance_id: str | None) -> bool:
    if not item.HasField(kind):  # type: ignore[arg-type]
        return False
    if instance_id is None:
        return True
    if kind == "orchestratorRequest":
        return item.orchestratorRequest.instanceId == instance_id
    if kind == "entityRequestV2":
        return item.entityRequestV2.instanceId == instance_id
    return item.activityRequest.orchestrationInstance.instanceId == instance_id


def kinds(events) -> list[str]:
    """The event kinds of a list of history events, in order."""
    return [e.WhichOneof("eventType") for e in events]


def ts(value: datetime) -> timestamp_pb2.Timestamp:
    """A protobuf timestamp for ``value``."""
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def in_seconds(seconds: float) -> datetime:
    """Now plus ``seconds``, UTC."""
    return datetime.now(timezone.utc) + timedelta(seconds=seconds)


def schedule_task(action_id: int, name: str, data: str | None = None) -> pb.OrchestratorAction:
    """A scheduleTask action."""
    action = pb.OrchestratorAction(id=action_id)
    action.scheduleTask.name = name
    if data is not None:
        action.scheduleTask.input.value = data
    return action


def create_timer(action_id: int, fire_at: datetime) -> pb.OrchestratorAction:
    """A createTimer action."""
    action = pb.OrchestratorAction(id=action_id)
    action.createTimer.fireAt.CopyFrom(ts(fire_at))
    return action


def sub_orchestration(
    action_id: int, name: str, instance_id: str = "", data: str | None = None
) -> pb.OrchestratorAction:
    """A createSubOrchestration action."""
    action = pb.OrchestratorAction(id=action_id)
    action.createSubOrchestration.name = name
    action.createSubOrchestration.instanceId = instance_id
    if data is not None:
        action.createSubOrchestration.input.value = data
    return action


def send_event(action_id: int, target: str, name: str, data: str | None = None):
    """A sendEvent action."""
    action = pb.OrchestratorAction(id=action_id)
    action.sendEvent.instance.instanceId = target
    action.sendEvent.name = name
    if data is not None:
        action.sendEvent.data.value = data
    return action


def complete(
    action_id: int,
    status: int = pb.ORCHESTRATION_STATUS_COMPLETED,
    result: str | None = None,
    failure: pb.TaskFailureDetails | None = None,
) -> pb.OrchestratorAction:
    """A completeOrchestration action."""
    action = pb.OrchestratorAction(id=action_id)
    action.completeOrchestration.orchestrationStatus = status
    if result is not None:
        action.completeOrchestration.result.value = result
    if failure is not None:
        action.completeOrchestration.failureDetails.CopyFrom(failure)
    return action


def continue_as_new(
    action_id: int,
    new_input: str,
    carryover: list[pb.HistoryEvent] = (),  # type: ignore[assignment]
    new_version: str | None = None,
) -> pb.OrchestratorAction:
    """A completeOrchestration(CONTINUED_AS_NEW) action."""
    action = complete(action_id, pb.ORCHESTRATION_STATUS_CONTINUED_AS_NEW, new_input)
    action.completeOrchestration.carryoverEvents.extend(carryover)
    if new_version is not None:
        action.completeOrchestration.newVersion.value = new_version
    return action


def success(output: str | None = None) -> pb.OperationResult:
    """A successful entity operation result."""
    result = pb.OperationResult()
    result.success.SetInParent()
    if output is not None:
        result.success.result.value = output
    return result


def op_failure(message: str, error_type: str = "ValueError") -> pb.OperationResult:
    """A failed entity operation result."""
    result = pb.OperationResult()
    result.failure.failureDetails.errorType = error_type
    result.failure.failureDetails.errorMessage = message
    return result


def operations(item: pb.WorkItem) -> list[tuple[str, str, str | None]]:
    """(kind, operation, input) of each operation of an entity batch."""
    found = []
    for event in item.entityRequestV2.operationRequests:
        kind = event.WhichOneof("eventType")
        op = getattr(event, kind)
        found.append((kind, op.operation, op.input.value if op.HasField("input") else None))
    return found


def _entity_action(action_id: int, kind: str) -> tuple[pb.OrchestratorAction, object]:
    action = pb.OrchestratorAction(id=action_id)
    return action, getattr(action.sendEntityMessage, kind)


def call_entity(
    action_id: int, entity_id: str, operation: str, request_id: str, data: str | None = None
) -> pb.OrchestratorAction:
    """A sendEntityMessage(entityOperationCalled) action, as the official SDK builds it."""
    action, called = _entity_action(action_id, "entityOperationCalled")
    called.requestId = request_id
    called.operation = operation
    called.targetInstanceId.value = entity_id
    if data is not None:
        called.input.value = data
    return action


def signal_entity(
    action_id: int,
    entity_id: str,
    operation: str,
    data: str | None = None,
    at: datetime | None = None,
) -> pb.OrchestratorAction:
    """A sendEntityMessage(entityOperationSignaled) action."""
    action, signaled = _entity_action(action_id, "entityOperationSignaled")
    signaled.requestId = f"signal-{action_id}"
    signaled.operation = operation
    signaled.targetInstanceId.value = entity_id
    if data is not None:
        signaled.input.value = data
    if at is not None:
        signaled.scheduledTime.CopyFrom(ts(at))
    return action


def lock_entities(
    action_id: int, instance_id: str, section: str, *entity_ids: str
) -> pb.OrchestratorAction:
    """A sendEntityMessage(entityLockRequested) action (lock set as given)."""
    action, request = _entity_action(action_id, "entityLockRequested")
    request.criticalSectionId = section
    request.parentInstanceId.value = instance_id
    request.lockSet.extend(entity_ids)
    return action


def unlock_entity(
    action_id: int, instance_id: str, section: str, entity_id: str
) -> pb.OrchestratorAction:
    """A sendEntityMessage(entityUnlockSent) action."""
    action, unlock = _entity_action(action_id, "entityUnlockSent")
    unlock.criticalSectionId = section
    unlock.parentInstanceId.value = instance_id
    unlock.targetInstanceId.value = entity_id
    return action
