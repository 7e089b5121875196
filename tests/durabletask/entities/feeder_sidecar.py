"""A real gRPC sidecar that hands the worker scripted entity work items and records answers.

It lets tests send work items no other sidecar sends on demand (the V1 ``entityRequest``
form, a malformed entity id) and observe what the worker does with them: the
``GetWorkItemsRequest`` it opened the stream with, and every ``CompleteEntityTask`` and
``AbandonTaskEntityWorkItem`` it sent.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
from google.protobuf import empty_pb2

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc

_POLL_SECONDS = 0.05


class FeederSidecar(pb_grpc.TaskHubSidecarServiceServicer):
    """Streams the work items put in :meth:`feed`; records completions and abandons."""

    def __init__(self) -> None:
        self.stream_requests: list[pb.GetWorkItemsRequest] = []
        self.completed: list[pb.EntityBatchResult] = []
        self.abandoned: list[str] = []
        self._items: queue.Queue[pb.WorkItem] = queue.Queue()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        pb_grpc.add_TaskHubSidecarServiceServicer_to_server(self, self._server)
        port = self._server.add_insecure_port("127.0.0.1:0")
        self.address = f"127.0.0.1:{port}"
        self._server.start()

    def feed(self, item: pb.WorkItem) -> None:
        """Send ``item`` on the (next) work-item stream."""
        self._items.put(item)

    def stop(self) -> None:
        self._stopping.set()
        self._server.stop(grace=None).wait(5)

    def snapshot(self) -> tuple[list[pb.EntityBatchResult], list[str]]:
        """The completions and abandoned tokens so far."""
        with self._lock:
            return list(self.completed), list(self.abandoned)

    def Hello(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        return empty_pb2.Empty()

    def GetWorkItems(  # noqa: N802
        self, request: pb.GetWorkItemsRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.WorkItem]:
        with self._lock:
            self.stream_requests.append(request)
        while context.is_active() and not self._stopping.is_set():
            try:
                yield self._items.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                continue

    def CompleteEntityTask(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        with self._lock:
            self.completed.append(request)
        return pb.CompleteTaskResponse()

    def AbandonTaskEntityWorkItem(  # noqa: N802
        self, request: Any, context: grpc.ServicerContext
    ) -> Any:
        with self._lock:
            self.abandoned.append(request.completionToken)
        return pb.AbandonEntityTaskResponse()
