"""A real gRPC server with a per-test script: abort codes, delays, long polls that hang."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
from google.protobuf import empty_pb2

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc


class FakeSidecar(pb_grpc.TaskHubSidecarServiceServicer):
    """``GetInstance`` answers from ``script`` (a queue of status codes, OK when empty).

    ``get_delay`` holds every GetInstance at most that long (``get_release`` ends the hold,
    and so does the call's end); ``WaitForInstanceCompletion`` waits until
    ``release`` is set or the call's deadline passes; every call is counted per method.
    ``Hello`` answers without advertising anything (a sidecar other than ours), and
    ``GetWorkItems`` follows ``stream_mode``: ``"silent"`` stays open and never sends (as the
    official in-memory sidecar and durabletask-go do when idle), ``"one_then_end"`` sends
    one health ping and ends the stream.
    """

    def __init__(self, port: int = 0) -> None:
        self.script: deque[grpc.StatusCode] = deque()
        self.get_delay = 0.0
        self.get_release = threading.Event()
        self.stream_mode = "silent"
        self.release = threading.Event()
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        pb_grpc.add_TaskHubSidecarServiceServicer_to_server(self, self._server)
        self.port = self._server.add_insecure_port(f"127.0.0.1:{port}")
        self.address = f"127.0.0.1:{self.port}"
        self._server.start()

    def stop(self) -> None:
        self.release.set()
        self.get_release.set()
        self._server.stop(grace=None).wait(5)

    def _count(self, method: str) -> None:
        with self._lock:
            self.calls[method] = self.calls.get(method, 0) + 1

    def count(self, method: str) -> int:
        """How many calls of ``method`` arrived."""
        with self._lock:
            return self.calls.get(method, 0)

    def Hello(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        self._count("Hello")
        return empty_pb2.Empty()

    def GetWorkItems(  # noqa: N802
        self, request: Any, context: grpc.ServicerContext
    ) -> Iterator[Any]:
        self._count("GetWorkItems")
        if self.stream_mode == "one_then_end":
            yield pb.WorkItem(healthPing=pb.HealthPing())
            return
        ended = threading.Event()
        context.add_callback(ended.set)
        while not ended.is_set() and not self.release.is_set():
            ended.wait(0.05)

    def GetInstance(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        self._count("GetInstance")
        with self._lock:
            code = self.script.popleft() if self.script else grpc.StatusCode.OK
        if self.get_delay:
            done = threading.Event()
            context.add_callback(done.set)
            deadline = time.monotonic() + self.get_delay
            while not (done.is_set() or self.get_release.is_set()):
                if not done.wait(min(0.02, max(deadline - time.monotonic(), 0))):
                    if time.monotonic() >= deadline:
                        break
        if code != grpc.StatusCode.OK:
            context.abort(code, f"scripted {code.name}")
        return pb.GetInstanceResponse(exists=False)

    def WaitForInstanceCompletion(  # noqa: N802
        self, request: Any, context: grpc.ServicerContext
    ) -> Any:
        self._count("WaitForInstanceCompletion")
        ended = threading.Event()
        context.add_callback(ended.set)
        while not ended.is_set() and not self.release.is_set():
            ended.wait(0.02)
        return pb.GetInstanceResponse(
            exists=True,
            orchestrationState=pb.OrchestrationState(
                instanceId=request.instanceId,
                orchestrationStatus=pb.ORCHESTRATION_STATUS_COMPLETED,
            ),
        )

    def StreamInstanceHistory(  # noqa: N802
        self, request: Any, context: grpc.ServicerContext
    ) -> Iterator[Any]:
        self._count("StreamInstanceHistory")
        context.abort(grpc.StatusCode.UNAVAILABLE, "scripted stream failure")
        yield pb.HistoryChunk()
