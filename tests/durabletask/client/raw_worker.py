"""Plays the worker with the raw generated stub, so client tests can make instances progress.

``RawWorker`` opens ``GetWorkItems`` and answers each orchestrator work item with the
actions a ``decide`` function returns (default: complete with the input as the output).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import empty_pb2, wrappers_pb2

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc

Decide = Callable[[pb.OrchestratorRequest], "list[pb.OrchestratorAction]"]


def events_of(request: pb.OrchestratorRequest) -> list[pb.HistoryEvent]:
    """All events of a work item, past then new."""
    return [*request.pastEvents, *request.newEvents]


def input_of(request: pb.OrchestratorRequest) -> str | None:
    """The serialised orchestration input, from the executionStarted event."""
    for event in events_of(request):
        if event.HasField("executionStarted") and event.executionStarted.HasField("input"):
            return event.executionStarted.input.value
    return None


def complete(result: str | None,
             status: int = pb.ORCHESTRATION_STATUS_COMPLETED) -> list[pb.OrchestratorAction]:
    """A single action completing the orchestration with ``result``."""
    action = pb.CompleteOrchestrationAction(orchestrationStatus=status)
    if result is not None:
        action.result.CopyFrom(wrappers_pb2.StringValue(value=result))
    return [pb.OrchestratorAction(id=1, completeOrchestration=action)]


def echo_input(request: pb.OrchestratorRequest) -> list[pb.OrchestratorAction]:
    """Complete at once with the input as the output."""
    return complete(input_of(request))


def complete_on_event(request: pb.OrchestratorRequest) -> list[pb.OrchestratorAction]:
    """Stay running until an event arrives, then complete with the event's data.

    A termination ends it as TERMINATED with the termination output, as a worker must.
    """
    for event in events_of(request):
        if event.HasField("executionTerminated"):
            terminated = event.executionTerminated
            output = terminated.input.value if terminated.HasField("input") else None
            return complete(output, pb.ORCHESTRATION_STATUS_TERMINATED)
        if event.HasField("eventRaised"):
            raised = event.eventRaised
            return complete(raised.input.value if raised.HasField("input") else None)
    return []


class RawWorker:
    """A minimal worker on its own thread; stop() cancels the stream and joins the thread."""

    def __init__(self, address: str, decide: Decide = echo_input) -> None:
        self._channel = grpc.insecure_channel(address)
        self._stub = pb_grpc.TaskHubSidecarServiceStub(self._channel)
        self._decide = decide
        self._stream: Any = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="raw-worker", daemon=True)
        self.handled = 0

    def __enter__(self) -> RawWorker:
        self._stub.Hello(empty_pb2.Empty(), timeout=5)
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._stream is not None:
            self._stream.cancel()
        self._thread.join(5)
        self._channel.close()

    def _run(self) -> None:
        self._stream = self._stub.GetWorkItems(pb.GetWorkItemsRequest())
        self._ready.set()
        try:
            for item in self._stream:
                if item.HasField("orchestratorRequest"):
                    self._answer(item)
        except grpc.RpcError as exc:
            if exc.code() is not grpc.StatusCode.CANCELLED:  # type: ignore[attr-defined]
                raise

    def _answer(self, item: pb.WorkItem) -> None:
        request = item.orchestratorRequest
        response = pb.OrchestratorResponse(
            instanceId=request.instanceId,
            actions=self._decide(request),
            completionToken=item.completionToken,
        )
        self._stub.CompleteOrchestratorTask(response, timeout=5)
        self.handled += 1
