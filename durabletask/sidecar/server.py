"""``SidecarServicer``: the grpc.aio servicer. Decode, validate, call the core, encode."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import empty_pb2

from durabletask.internal.dialect import (
    DrainNotice,
    EventWaits,
    QueryHints,
    SidecarTraits,
    read_worker_id,
    reports_process_lost,
)
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from durabletask.sidecar import encoding, validation
from durabletask.sidecar.task_hub import TaskHubCore
from durabletask.sidecar.work_filter import WorkKind
from durabletask.sidecar.entities.servicer import EntityServicer
from durabletask.sidecar.errors import InvalidRequestError, SidecarRequestError
from durabletask.sidecar.rpc import optional as _opt
from durabletask.sidecar.rpc import unary as _unary
from durabletask.sidecar.waiters import Condition, is_finished, is_started

logger = logging.getLogger("durabletask.sidecar")

HISTORY_CHUNK_SIZE = 100
_CLIENT_RECEIVE_BYTES = 4 * 1024 * 1024
_PAGE_SLACK = 64 * 1024

_UNIMPLEMENTED = (
    "CreateTaskHub",
    "DeleteTaskHub",
    "SkipGracefulOrchestrationTerminations",
)


class SidecarServicer(EntityServicer, pb_grpc.TaskHubSidecarServiceServicer):
    """``TaskHubSidecarService`` over a :class:`TaskHubCore`."""

    def __init__(self, core: TaskHubCore) -> None:
        """Serve ``core``.

        Args:
            core: The sidecar behaviour.
        """
        self._core = core
        options = core.options
        # Advertised on every Hello (our wire dialect, durabletask/internal/dialect.py).
        self._traits = SidecarTraits(
            health_ping_ms=round(options.health_ping_interval_seconds * 1000),
            min_ping_interval_ms=round(options.min_client_ping_interval_seconds * 1000),
            drain=True,
            completion_stream=True,
        ).to_metadata()
        # A page of states stays within what any gRPC client receives by default (4 MiB).
        self._page_budget = min(options.max_message_bytes, _CLIENT_RECEIVE_BYTES) - _PAGE_SLACK

    @_unary
    async def Hello(self, request: empty_pb2.Empty, context: Any) -> empty_pb2.Empty:  # noqa: N802
        """Answer the connectivity probe, advertising our traits; take a drain notice."""
        notice = DrainNotice.from_metadata(context.invocation_metadata())
        if notice is not None:
            self._core.dispatcher.drain_worker(notice.worker_id, notice.grace_seconds)
        await context.send_initial_metadata(self._traits)
        return empty_pb2.Empty()

    @_unary
    async def StartInstance(  # noqa: N802
        self, request: pb.CreateInstanceRequest, context: Any
    ) -> pb.CreateInstanceResponse:
        """Create an orchestration instance."""
        validation.create_request(request)
        return pb.CreateInstanceResponse(instanceId=await self._core.start_instance(request))

    @_unary
    async def GetInstance(  # noqa: N802
        self, request: pb.GetInstanceRequest, context: Any
    ) -> pb.GetInstanceResponse:
        """Return an instance's state (``exists=false`` if unknown)."""
        validation.instance_id(request.instanceId)
        record = self._core.get_instance(request.instanceId)
        if record is None:
            return pb.GetInstanceResponse(exists=False)
        state = encoding.orchestration_state(record, with_payloads=request.getInputsAndOutputs)
        return pb.GetInstanceResponse(exists=True, orchestrationState=state)

    @_unary
    async def WaitForInstanceStart(  # noqa: N802
        self, request: pb.GetInstanceRequest, context: Any
    ) -> pb.GetInstanceResponse:
        """Wait until the instance leaves PENDING."""
        return await self._wait(request, context, is_started)

    @_unary
    async def WaitForInstanceCompletion(  # noqa: N802
        self, request: pb.GetInstanceRequest, context: Any
    ) -> pb.GetInstanceResponse:
        """Wait until the instance is terminal."""
        return await self._wait(request, context, is_finished)

    @_unary
    async def RaiseEvent(  # noqa: N802
        self, request: pb.RaiseEventRequest, context: Any
    ) -> pb.RaiseEventResponse:
        """Deliver an external event (kept until an unknown instance is created)."""
        validation.instance_id(request.instanceId)
        validation.name(request.name)
        self._core.raise_event(request.instanceId, request.name, _opt(request, "input"))
        return pb.RaiseEventResponse()

    @_unary
    async def TerminateInstance(  # noqa: N802
        self, request: pb.TerminateRequest, context: Any
    ) -> pb.TerminateResponse:
        """Terminate an instance (recursively when asked)."""
        validation.instance_id(request.instanceId)
        self._core.terminate(request.instanceId, _opt(request, "output"), request.recursive)
        return pb.TerminateResponse()

    @_unary
    async def SuspendInstance(  # noqa: N802
        self, request: pb.SuspendRequest, context: Any
    ) -> pb.SuspendResponse:
        """Suspend an instance."""
        validation.instance_id(request.instanceId)
        self._core.suspend(request.instanceId, _opt(request, "reason"))
        return pb.SuspendResponse()

    @_unary
    async def ResumeInstance(  # noqa: N802
        self, request: pb.ResumeRequest, context: Any
    ) -> pb.ResumeResponse:
        """Resume a suspended instance."""
        validation.instance_id(request.instanceId)
        self._core.resume(request.instanceId, _opt(request, "reason"))
        return pb.ResumeResponse()

    @_unary
    async def QueryInstances(  # noqa: N802
        self, request: pb.QueryInstancesRequest, context: Any
    ) -> pb.QueryInstancesResponse:
        """List instances by filter, one page at a time."""
        query = request.query
        validation.page_size(query.maxInstanceCount, "query.maxInstanceCount")
        hints = QueryHints.from_metadata(context.invocation_metadata())
        found = self._core.query(encoding.instance_query(
            query, newest_first=hints.newest_first, name=hints.name))
        rows, next_key = encoding.one_page(found, query.maxInstanceCount, lambda r: r.created_at)
        states, kept = encoding.states_within(
            rows, with_payloads=query.fetchInputsAndOutputs, budget_bytes=self._page_budget)
        if kept < len(rows):
            next_key = encoding.encode_page_key(rows[kept - 1].created_at,
                                                rows[kept - 1].instance_id)
        response = pb.QueryInstancesResponse(orchestrationState=states)
        if next_key is not None:
            response.continuationToken.value = next_key
        if hints != QueryHints():
            await context.send_initial_metadata(QueryHints.applied_metadata())
        return response

    @_unary
    async def ListInstanceIds(  # noqa: N802
        self, request: pb.ListInstanceIdsRequest, context: Any
    ) -> pb.ListInstanceIdsResponse:
        """List ids of terminal instances by completion time, one page at a time."""
        validation.page_size(request.pageSize, "pageSize")
        rows, next_key = encoding.one_page(
            self._core.query(encoding.list_ids_query(request)), request.pageSize,
            lambda r: r.completed_at,  # the query lists completed instances only
        )
        response = pb.ListInstanceIdsResponse()
        if next_key is not None:
            response.lastInstanceKey.value = next_key
        response.instanceIds.extend(r.instance_id for r in rows)
        return response

    @_unary
    async def PurgeInstances(  # noqa: N802
        self, request: pb.PurgeInstancesRequest, context: Any
    ) -> pb.PurgeInstancesResponse:
        """Delete terminal instances by id, filter or batch."""
        kind = request.WhichOneof("request")
        if kind == "instanceId":
            validation.instance_id(request.instanceId)
            count = self._core.purge(request.instanceId, request.recursive)
        elif kind == "purgeInstanceFilter":
            rows = self._core.query(encoding.purge_query(request.purgeInstanceFilter))
            count = self._core.purge_many((r.instance_id for r in rows), request.recursive)
        elif kind == "instanceBatch":
            ids = [validation.instance_id(i) for i in request.instanceBatch.instanceIds]
            count = self._core.purge_many(ids, request.recursive)
        else:
            raise InvalidRequestError(
                "PurgeInstances needs one of instanceId, purgeInstanceFilter or instanceBatch"
            )
        response = pb.PurgeInstancesResponse(deletedInstanceCount=count)
        response.isComplete.value = True
        return response

    async def GetWorkItems(  # noqa: N802
        self, request: pb.GetWorkItemsRequest, context: Any
    ) -> AsyncIterator[pb.WorkItem]:
        """Stream work items to a worker until it disconnects or the sidecar stops."""
        dispatcher = self._core.dispatcher
        if dispatcher.closing:
            # Not UNAVAILABLE: a refusal must not look like a broken connection (R-T6).
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                                "the sidecar is shutting down; connect again once it is back")
        worker_id = read_worker_id(context.invocation_metadata())
        async for item in dispatcher.stream(request, worker_id=worker_id):
            yield item

    @_unary
    async def CompleteActivityTask(  # noqa: N802
        self, request: pb.ActivityResponse, context: Any
    ) -> pb.CompleteTaskResponse:
        """Accept an activity result."""
        validation.completion_token(request.completionToken, "CompleteActivityTask")
        await self._core.complete_activity(request)
        return pb.CompleteTaskResponse()

    @_unary
    async def CompleteOrchestratorTask(  # noqa: N802
        self, request: pb.OrchestratorResponse, context: Any
    ) -> pb.CompleteTaskResponse:
        """Accept the actions of an orchestration episode."""
        validation.completion_token(request.completionToken, "CompleteOrchestratorTask")
        waits = EventWaits.from_metadata(context.invocation_metadata())
        await self._core.complete_orchestration(request, waits)
        return pb.CompleteTaskResponse()

    @_unary
    async def AbandonTaskActivityWorkItem(  # noqa: N802
        self, request: pb.AbandonActivityTaskRequest, context: Any
    ) -> pb.AbandonActivityTaskResponse:
        """Hand an activity back for delayed redelivery."""
        validation.completion_token(request.completionToken, "AbandonTaskActivityWorkItem")
        lost = reports_process_lost(context.invocation_metadata())
        self._core.abandon(request.completionToken, WorkKind.ACTIVITY, process_lost=lost)
        return pb.AbandonActivityTaskResponse()

    @_unary
    async def AbandonTaskOrchestratorWorkItem(  # noqa: N802
        self, request: pb.AbandonOrchestrationTaskRequest, context: Any
    ) -> pb.AbandonOrchestrationTaskResponse:
        """Hand an orchestration episode back for delayed redelivery."""
        validation.completion_token(request.completionToken, "AbandonTaskOrchestratorWorkItem")
        self._core.abandon(request.completionToken, WorkKind.ORCHESTRATION)
        return pb.AbandonOrchestrationTaskResponse()

    async def StreamInstanceHistory(  # noqa: N802
        self, request: pb.StreamInstanceHistoryRequest, context: Any
    ) -> AsyncIterator[pb.HistoryChunk]:
        """Stream the current history in chunks of ``HISTORY_CHUNK_SIZE`` events."""
        try:
            validation.instance_id(request.instanceId)
            history = list(self._core.history(request.instanceId))
        except SidecarRequestError as exc:
            await context.abort(exc.code, str(exc))
            return
        for start in range(0, len(history), HISTORY_CHUNK_SIZE):
            yield pb.HistoryChunk(events=history[start : start + HISTORY_CHUNK_SIZE])

    @_unary
    async def RestartInstance(  # noqa: N802
        self, request: pb.RestartInstanceRequest, context: Any
    ) -> pb.RestartInstanceResponse:
        """Start a terminal instance again."""
        validation.instance_id(request.instanceId)
        new_id = self._core.restart(request.instanceId, request.restartWithNewInstanceId)
        return pb.RestartInstanceResponse(instanceId=new_id)

    @_unary
    async def RewindInstance(  # noqa: N802
        self, request: pb.RewindInstanceRequest, context: Any
    ) -> pb.RewindInstanceResponse:
        """Rewind a failed instance."""
        validation.instance_id(request.instanceId)
        self._core.rewind(request.instanceId, _opt(request, "reason"))
        return pb.RewindInstanceResponse()

    async def _wait(
        self, request: pb.GetInstanceRequest, context: Any, condition: Condition
    ) -> pb.GetInstanceResponse:
        validation.instance_id(request.instanceId)
        if self._core.get_instance(request.instanceId) is None:
            return pb.GetInstanceResponse(exists=False)
        remaining = context.time_remaining()
        # Without a deadline the call waits until the caller cancels it or its connection
        # dies (keepalive finds dead ones), unless an operator set a cap.
        limit = self._core.options.default_wait_timeout_seconds if remaining is None else remaining
        record = await self._core.wait_for(
            request.instanceId, condition, None if limit is None else max(0.0, limit))
        if record is None:
            return pb.GetInstanceResponse(exists=False)
        state = encoding.orchestration_state(record, with_payloads=request.getInputsAndOutputs)
        return pb.GetInstanceResponse(exists=True, orchestrationState=state)


def _make_unimplemented(rpc: str) -> Callable[..., Awaitable[Any]]:
    async def handler(self: SidecarServicer, request: Any, context: Any) -> Any:
        await context.abort(
            grpc.StatusCode.UNIMPLEMENTED,
            f"{rpc} is not implemented by the embedded durabletask sidecar (task hub "
            f"management is not supported); use a sidecar that supports it, such as the "
            f"Durable Task Scheduler",
        )

    handler.__name__ = rpc
    handler.__doc__ = f"Answer UNIMPLEMENTED: the embedded sidecar does not support {rpc}."
    return handler


for _rpc in _UNIMPLEMENTED:
    setattr(SidecarServicer, _rpc, _make_unimplemented(_rpc))
