"""A small real gRPC server speaking TaskHubSidecarService with scripted answers.

It lets client tests observe what went over the wire (metadata, requests) and provoke
error statuses and long-poll deadlines, which the embedded sidecar does not do on demand.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc

# Instance ids that make GetInstance fail with a status.
ABORT_CODES = {
    "not-found": grpc.StatusCode.NOT_FOUND,
    "denied": grpc.StatusCode.PERMISSION_DENIED,
}


class ScriptedSidecar(pb_grpc.TaskHubSidecarServiceServicer):
    """Records every call's metadata and request; answers from a small script."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        pb_grpc.add_TaskHubSidecarServiceServicer_to_server(self, self._server)
        port = self._server.add_insecure_port("127.0.0.1:0")
        self.address = f"127.0.0.1:{port}"
        self._server.start()

    def stop(self) -> None:
        self._server.stop(grace=None).wait(5)

    def _record(self, method: str, request: Any, context: grpc.ServicerContext) -> None:
        with self._lock:
            self.calls.append((method, request, dict(context.invocation_metadata())))

    def GetInstance(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        self._record("GetInstance", request, context)
        code = ABORT_CODES.get(request.instanceId)
        if code is not None:
            context.abort(code, f"scripted {code.name}")
        return pb.GetInstanceResponse(exists=False)

    def RaiseEvent(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        self._record("RaiseEvent", request, context)
        return pb.RaiseEventResponse()

    def WaitForInstanceCompletion(  # noqa: N802
        self, request: Any, context: grpc.ServicerContext
    ) -> Any:
        self._record("WaitForInstanceCompletion", request, context)
        done = threading.Event()
        context.add_callback(done.set)
        done.wait(10)  # ends when the client's deadline cancels the call
        return pb.GetInstanceResponse(exists=False)

    def StreamInstanceHistory(  # noqa: N802
        self, request: Any, context: grpc.ServicerContext
    ) -> Iterator[Any]:
        self._record("StreamInstanceHistory", request, context)
        for event_id in (1, 2):
            yield pb.HistoryChunk(events=[pb.HistoryEvent(
                eventId=event_id, eventRaised=pb.EventRaisedEvent(name=f"e{event_id}"))])
