"""Commands about the sidecar itself: ``workers``, ``orphan-events``, and ``vacuum``.

``workers`` and ``orphan-events`` use our sidecar's admin service; against another sidecar
they fail with a one-line message saying it does not offer them. ``vacuum`` works on a
database file directly, while no sidecar uses it.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import grpc
from google.protobuf import timestamp_pb2

from durabletask.cli import render
from durabletask.cli.commands import EXIT_USAGE, CommandError, Output
from durabletask.cli.connection import open_stubs, unsupported
from durabletask.client import TaskHubGrpcClient
from durabletask.internal.proto import sidecar_admin_pb2 as admin

WORKER_HEADERS = ("WORKER ID", "CONNECTED", "ACCEPTS", "LIMITS (O/A/E)", "IN FLIGHT")
ORPHAN_HEADERS = ("INSTANCE ID", "EVENTS", "NAMES", "FIRST RAISED", "LAST RAISED")


def _admin_call(args: argparse.Namespace, rpc: str, request: Any) -> Any:
    with open_stubs(args) as stubs:
        try:
            return getattr(stubs.admin, rpc)(request, timeout=stubs.timeout,
                                             metadata=stubs.metadata)
        except grpc.RpcError as exc:
            if unsupported(exc):
                raise CommandError(
                    f"the sidecar at {args.address} does not offer `{args.command}` (only "
                    f"the durabletask-python sidecar does)"
                ) from exc
            raise


def _time(stamp: timestamp_pb2.Timestamp, present: bool) -> Any:
    return stamp.ToDatetime() if present else None


def list_workers(client: TaskHubGrpcClient, args: argparse.Namespace) -> Output:
    """``workers``: the connected workers, what they accept, and the work they hold."""
    response = _admin_call(args, "ListWorkers", admin.ListWorkersRequest())
    documents = [_worker_document(w) for w in response.workers]
    if not documents:
        return Output("no workers are connected", [])
    rows = [[render.shorten(d["worker_id"] or "(no id)"), render.format_time(d["connected_at"]),
             render.shorten(_accepts(d)), _limits(d), _in_flight(d)] for d in documents]
    text = render.render_table(WORKER_HEADERS, rows)
    for document in documents:
        for item in document["work_items"]:
            text += (f"\n  {render.shorten(document['worker_id'] or '(no id)', 20)}: "
                     f"{item['kind']} {render.shorten(item['name'], 40)} of "
                     f"{render.shorten(item['instance_id'], 60)}"
                     + ("" if item["delivered_at"] else " (queued)"))
    return Output(text, [_jsonable(d) for d in documents])


def _worker_document(worker: admin.ConnectedWorker) -> dict[str, Any]:
    return {
        "worker_id": worker.worker_id or None,
        "connected_at": _time(worker.connected_at, worker.HasField("connected_at")),
        "limits": {"orchestrations": worker.max_orchestrations,
                   "activities": worker.max_activities, "entities": worker.max_entities},
        "filters": None if not worker.filtered else [
            {"kind": f.kind, "name": f.name, "versions": list(f.versions)}
            for f in worker.filters],
        "draining": worker.draining,
        "suspect": worker.suspect,
        "work_items": [
            {"kind": i.kind, "instance_id": i.instance_id, "name": i.name,
             "delivered_at": _time(i.delivered_at, i.HasField("delivered_at"))}
            for i in worker.work_items],
    }


def _accepts(document: dict[str, Any]) -> str:
    filters = document["filters"]
    if filters is None:
        return "everything"
    return ", ".join(f"{f['kind']} {f['name']}" for f in filters)


def _limits(document: dict[str, Any]) -> str:
    limits = document["limits"]
    return "/".join(str(limits[k] or "-") for k in ("orchestrations", "activities", "entities"))


def _in_flight(document: dict[str, Any]) -> str:
    text = str(len(document["work_items"]))
    flags = [flag for flag in ("draining", "suspect") if document[flag]]
    return f"{text} ({', '.join(flags)})" if flags else text


def _jsonable(document: dict[str, Any]) -> dict[str, Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return render.format_iso(value) if hasattr(value, "isoformat") else value

    result: dict[str, Any] = convert(document)
    return result


def orphan_events_command(client: TaskHubGrpcClient, args: argparse.Namespace) -> Output:
    """``orphan-events list|purge``: events kept for instance ids that do not exist."""
    if args.orphans_command == "list":
        return _list_orphans(args)
    return _purge_orphans(args)


def _list_orphans(args: argparse.Namespace) -> Output:
    response = _admin_call(args, "ListOrphanEvents",
                           admin.ListOrphanEventsRequest(limit=args.limit))
    documents = [{
        "instance_id": group.instance_id, "count": group.count, "names": list(group.names),
        "first_raised_at": group.first_raised_at.ToDatetime(),
        "last_raised_at": group.last_raised_at.ToDatetime(),
    } for group in response.instances]
    if not documents:
        return Output("no events are kept for instances that do not exist", [])
    rows = [[render.shorten(d["instance_id"]), str(d["count"]),
             render.shorten(", ".join(d["names"])), render.format_time(d["first_raised_at"]),
             render.format_time(d["last_raised_at"])] for d in documents]
    text = render.render_table(ORPHAN_HEADERS, rows)
    text += (f"\n({response.total_events} event(s) for {response.total_instances} instance "
             f"id(s) that do not exist; the sidecar keeps at most {response.max_events})")
    return Output(text, [_jsonable(d) for d in documents])


def _purge_orphans(args: argparse.Namespace) -> Output:
    if not args.instance_ids and args.before is None and not args.all:
        raise CommandError("name instance ids, or pass --before WHEN or --all", EXIT_USAGE)
    request = admin.PurgeOrphanEventsRequest(instance_ids=args.instance_ids)
    if args.before is not None:
        request.raised_before.FromDatetime(args.before)
    response = _admin_call(args, "PurgeOrphanEvents", request)
    count = response.deleted_events
    return Output(f"deleted {count} event{'s' if count != 1 else ''} kept for instances that "
                  f"do not exist", {"command": "orphan-events purge", "ok": True,
                                    "deleted_events": count})


def vacuum_database(args: argparse.Namespace) -> Output:
    """``vacuum``: give the space of purged instances back (the sidecar must be stopped)."""
    from durabletask.sidecar.store import SqliteStore, StoreOpenError

    if not os.path.isfile(args.db):
        raise CommandError(f"cannot vacuum {args.db}: no such database file", EXIT_USAGE)
    try:
        store = SqliteStore(args.db)
    except StoreOpenError as exc:
        raise CommandError(f"cannot vacuum {args.db}: {exc.reason}", EXIT_USAGE) from exc
    try:
        before, after = store.vacuum()
    finally:
        store.close()
    return Output(
        f"vacuumed {args.db}: {_size(before)} -> {_size(after)}; it now also gives space "
        f"back after each purge",
        {"command": "vacuum", "ok": True, "db": args.db, "bytes_before": before,
         "bytes_after": after},
    )


def _size(count: int) -> str:
    return f"{count / 1024 / 1024:.1f} MiB" if count >= 1024 * 1024 else f"{count / 1024:.0f} KiB"
