"""Read-only views of the dispatcher: connected workers, and why an instance is not running."""

from __future__ import annotations

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.proto import sidecar_admin_pb2 as admin
from durabletask.sidecar.clock import to_timestamp
from durabletask.sidecar.dispatcher import Dispatcher, Lease, WorkerStream
from durabletask.sidecar.store.base import InstanceRecord
from durabletask.sidecar.work_filter import WorkKind

__all__ = ["connected_workers", "no_worker_reason"]


def connected_workers(dispatcher: Dispatcher) -> admin.ListWorkersResponse:
    """Return every connected worker stream with its filters, limits and held work."""
    return admin.ListWorkersResponse(workers=[_worker(ws) for ws in dispatcher.streams])


def _worker(ws: WorkerStream) -> admin.ConnectedWorker:
    worker = admin.ConnectedWorker(
        worker_id=ws.worker_id or "",
        max_orchestrations=ws.limits[WorkKind.ORCHESTRATION],
        max_activities=ws.limits[WorkKind.ACTIVITY],
        max_entities=ws.limits[WorkKind.ENTITY],
        filtered=ws.work_filter is not None,
        draining=ws.draining,
        suspect=ws.suspect,
        history_streaming=ws.history_streaming,
    )
    if ws.connected_at is not None:
        worker.connected_at.CopyFrom(to_timestamp(ws.connected_at))
    if ws.work_filter is not None:
        for kind in WorkKind:
            for name, versions in sorted(ws.work_filter.names(kind).items()):
                worker.filters.add(kind=kind.value, name=name, versions=sorted(versions))
    worker.work_items.extend(_held(lease) for lease in ws.leases.values())
    return worker


def _held(lease: Lease) -> admin.HeldWorkItem:
    if lease.task is not None:
        name = lease.task.request.name
    elif lease.episode is not None:
        name = lease.episode.context.record.name
    else:
        name = lease.instance_id
    item = admin.HeldWorkItem(kind=lease.kind.value, instance_id=lease.instance_id, name=name)
    if lease.delivered_at is not None:
        item.delivered_at.CopyFrom(to_timestamp(lease.delivered_at))
    return item


def no_worker_reason(dispatcher: Dispatcher, record: InstanceRecord | None) -> str | None:
    """Say why nothing runs the instance when that is because of the workers, else None.

    Args:
        dispatcher: The hub's dispatcher.
        record: The instance waited for.
    """
    streams = [ws for ws in dispatcher.streams if ws.open_for_work]
    if not streams:
        return "no worker is connected to this sidecar; start a worker that registers it"
    if record is None or record.status != pb.ORCHESTRATION_STATUS_PENDING:
        return None
    accepting = [ws for ws in streams if ws.work_filter is None
                 or ws.work_filter.accepts(WorkKind.ORCHESTRATION, record.name, record.version)]
    if accepting:
        return None
    version = f" version {record.version!r}" if record.version else ""
    return (f"no connected worker accepts orchestration {record.name!r}{version} (their work "
            f"item filters leave it out); register it with a worker")
