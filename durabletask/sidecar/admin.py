"""``AdminServicer``: our sidecar's own read-only views and clean-ups (``sidecar_admin.proto``).

Not part of the Durable Task protocol: other sidecars answer UNIMPLEMENTED, and the command
line then says what it cannot show. Everything here reads the cores; only
``PurgeOrphanEvents`` changes state (events kept for instance ids that do not exist).
"""

from __future__ import annotations

from typing import Any

from durabletask.internal.proto import sidecar_admin_pb2 as admin
from durabletask.internal.proto import sidecar_admin_pb2_grpc as admin_grpc
from durabletask.sidecar import validation
from durabletask.sidecar.clock import from_timestamp
from durabletask.sidecar.task_hub import TaskHubCore
from durabletask.sidecar.orphans import list_orphan_events, purge_orphan_events
from durabletask.sidecar.rpc import unary as _unary
from durabletask.sidecar.workers_view import connected_workers

__all__ = ["AdminServicer"]

_DEFAULT_ORPHAN_LIST = 100


class AdminServicer(admin_grpc.SidecarAdminServicer):
    """``SidecarAdmin`` over one hub's :class:`TaskHubCore`."""

    def __init__(self, core: TaskHubCore) -> None:
        """Serve ``core``."""
        self._core = core

    @_unary
    async def ListWorkers(  # noqa: N802
        self, request: admin.ListWorkersRequest, context: Any
    ) -> admin.ListWorkersResponse:
        """The connected worker streams, their filters and limits, and what they hold."""
        return connected_workers(self._core.dispatcher)

    @_unary
    async def DescribeInstance(  # noqa: N802
        self, request: admin.DescribeInstanceRequest, context: Any
    ) -> admin.DescribeInstanceResponse:
        """What the sidecar knows of an instance beyond its history."""
        validation.instance_id(request.instance_id, "instance_id")
        core = self._core
        if core.get_instance(request.instance_id) is None:
            return admin.DescribeInstanceResponse(exists=False)
        response = admin.DescribeInstanceResponse(exists=True)
        waits = core.notes.get(request.instance_id)
        if waits is not None:
            response.reported = True
            response.awaited_events.extend(waits.awaited)
            response.unclaimed_events.extend(
                admin.EventCount(name=name, count=count) for name, count in waits.unclaimed.items()
            )
        lease = core.dispatcher.in_flight(request.instance_id)
        if lease is not None:
            response.dispatched = True
            response.running_on = lease.stream.worker_id or ""
        return response

    @_unary
    async def ListOrphanEvents(  # noqa: N802
        self, request: admin.ListOrphanEventsRequest, context: Any
    ) -> admin.ListOrphanEventsResponse:
        """Events kept for instance ids that do not exist, grouped by id."""
        validation.page_size(request.limit, "limit")
        return list_orphan_events(self._core.store, request.limit or _DEFAULT_ORPHAN_LIST,
                                  self._core.options.max_orphan_events)

    @_unary
    async def PurgeOrphanEvents(  # noqa: N802
        self, request: admin.PurgeOrphanEventsRequest, context: Any
    ) -> admin.PurgeOrphanEventsResponse:
        """Delete events kept for instance ids that do not exist."""
        before = None
        if request.HasField("raised_before"):
            before = from_timestamp(validation.timestamp(request.raised_before, "raised_before"))
        deleted = purge_orphan_events(self._core.store, request.instance_ids, before)
        return admin.PurgeOrphanEventsResponse(deleted_events=deleted)
