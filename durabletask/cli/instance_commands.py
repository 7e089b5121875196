"""Client commands about one instance: ``start``, ``wait``, ``show``, ``rewind``, ``purge``."""

from __future__ import annotations

import argparse
import math
from typing import Any

import grpc

from durabletask import history as h
from durabletask.cli import render
from durabletask.cli.commands import (
    EXIT_USAGE,
    CommandError,
    Output,
    done,
    not_found,
    parse_json_value,
    require_instance,
)
from durabletask.cli.connection import open_stubs, unsupported
from durabletask.client import OrchestrationState, OrchestrationStatus, TaskHubGrpcClient
from durabletask.internal.proto import sidecar_admin_pb2 as admin

_ENDED = frozenset({OrchestrationStatus.COMPLETED, OrchestrationStatus.FAILED,
                    OrchestrationStatus.TERMINATED})


def start_instance(client: TaskHubGrpcClient, args: argparse.Namespace) -> Output:
    """``start NAME [INPUT]``: schedule a new instance and print its id."""
    data = parse_json_value(args.data, "the input")
    start_at = None if args.start_at is None else args.start_at.replace(tzinfo=None)
    instance_id = client.schedule_new_orchestration(
        args.orchestrator, input=data, instance_id=args.id, start_at=start_at,
        version=args.version,
    )
    return Output(
        f"started instance {instance_id!r} of {args.orchestrator!r}",
        {"instance_id": instance_id, "name": args.orchestrator, "command": "start", "ok": True},
    )


def wait_instance(client: TaskHubGrpcClient, args: argparse.Namespace) -> Output:
    """``wait ID``: wait until the instance ends (or starts, with ``--start``); show it.

    The exit status is 0 when it completed (or started), 1 when it failed or was terminated.
    """
    limit = math.inf if args.wait_timeout is None else args.wait_timeout
    require_instance(client, args)  # an unreachable sidecar fails now, within --timeout
    wait = client.wait_for_orchestration_start if args.start else (
        client.wait_for_orchestration_completion)
    try:
        state = wait(args.instance_id, fetch_payloads=True, timeout=limit)
    except TimeoutError as exc:
        raise CommandError(render.shorten(str(exc), 400)) from exc
    if state is None:
        raise not_found(args.instance_id, args.address)
    failed = not args.start and state.runtime_status is not OrchestrationStatus.COMPLETED
    return Output(render.render_fields(render.state_fields(state)),
                  render.state_document(state), exit_code=1 if failed else 0)


def show_instance(client: TaskHubGrpcClient, args: argparse.Namespace) -> Output:
    """``show ID``: the state of one instance, and what it waits for."""
    state = client.get_orchestration_state(args.instance_id, fetch_payloads=True)
    if state is None:
        raise not_found(args.instance_id, args.address)
    fields = render.state_fields(state)
    document = render.state_document(state)
    if state.runtime_status not in _ENDED:
        waits = _waits(client, args, state)
        fields += [(key, render.cap(value)) for key, value in waits.lines]
        document["waiting_for"] = waits.document
    return Output(render.render_fields(fields), document)


class _Waits:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self.document: dict[str, Any] = {}


def _waits(client: TaskHubGrpcClient, args: argparse.Namespace,
           state: OrchestrationState) -> _Waits:
    """What a running instance waits for: its history, plus what our sidecar knows."""
    waits = _Waits()
    events = client.get_orchestration_history(args.instance_id)
    pending = _pending(events)
    for key, title in (("activities", "Waiting for activities"), ("timers", "Waiting for timers"),
                       ("sub_orchestrations", "Waiting for sub-orchestrations")):
        waits.document[key] = pending[key]
        if pending[key]:
            waits.lines.append((title, ", ".join(item["text"] for item in pending[key])))
    description = _describe(args)
    if description is None or not description.reported:
        waits.document["events"] = None
        return waits
    awaited = list(description.awaited_events)
    unclaimed = {e.name: e.count for e in description.unclaimed_events}
    waits.document["events"] = awaited
    waits.document["unclaimed_events"] = unclaimed
    waits.document["episode_out_to_worker"] = (
        description.running_on or True) if description.dispatched else None
    if awaited:
        waits.lines.append(("Waiting for events", ", ".join(repr(n) for n in awaited)))
    if unclaimed:
        waits.lines.append(("Unclaimed events", ", ".join(
            f"{name!r} ({count})" for name, count in unclaimed.items())
            + " - nothing waits for these; check the event name"))
    return waits


def _describe(args: argparse.Namespace) -> admin.DescribeInstanceResponse | None:
    with open_stubs(args) as stubs:
        try:
            return stubs.admin.DescribeInstance(
                admin.DescribeInstanceRequest(instance_id=args.instance_id),
                timeout=stubs.timeout, metadata=stubs.metadata)
        except grpc.RpcError as exc:
            if unsupported(exc):
                return None  # not our sidecar: the history is all there is
            raise


def _pending(events: list[h.HistoryEvent]) -> dict[str, list[dict[str, Any]]]:
    """Activities, timers and sub-orchestrations scheduled and not yet answered."""
    activities: dict[int, dict[str, Any]] = {}
    timers: dict[int, dict[str, Any]] = {}
    children: dict[int, dict[str, Any]] = {}
    for event in events:
        if isinstance(event, h.TaskScheduledEvent):
            activities[event.event_id] = {"id": event.event_id, "name": event.name,
                                          "text": f"{event.name!r} (task {event.event_id})"}
        elif isinstance(event, (h.TaskCompletedEvent, h.TaskFailedEvent)):
            activities.pop(event.task_scheduled_id, None)
        elif isinstance(event, h.TimerCreatedEvent):
            when = render.format_time(event.fire_at)
            timers[event.event_id] = {"id": event.event_id,
                                      "fire_at": render.format_iso(event.fire_at),
                                      "text": f"until {when} (timer {event.event_id})"}
        elif isinstance(event, h.TimerFiredEvent):
            timers.pop(event.timer_id, None)
        elif isinstance(event, h.SubOrchestrationInstanceCreatedEvent):
            children[event.event_id] = {"id": event.event_id, "name": event.name,
                                        "instance_id": event.instance_id,
                                        "text": f"{event.name!r} ({event.instance_id})"}
        elif isinstance(event, (h.SubOrchestrationInstanceCompletedEvent,
                                h.SubOrchestrationInstanceFailedEvent)):
            children.pop(event.task_scheduled_id, None)
    return {"activities": list(activities.values()), "timers": list(timers.values()),
            "sub_orchestrations": list(children.values())}


def rewind_instance(client: TaskHubGrpcClient, args: argparse.Namespace) -> Output:
    """``rewind ID [--reason TEXT]``: rerun a failed instance from its failed steps."""
    require_instance(client, args)
    client.rewind_orchestration(args.instance_id, reason=args.reason)
    return done(args, "rewound")


def purge_instances(client: TaskHubGrpcClient, args: argparse.Namespace) -> Output:
    """``purge ID`` or ``purge --status S... --before WHEN``: delete finished instances."""
    has_filter = bool(args.status) or args.before is not None
    if (args.instance_id is None) == (not has_filter):
        raise CommandError("give an instance ID, or filters (--status, --before), not both",
                           EXIT_USAGE)
    if args.instance_id is not None:
        return _purge_one(client, args)
    statuses = args.status or sorted(_ENDED, key=lambda s: s.value)
    refused = [str(s) for s in statuses if s not in _ENDED]
    if refused:
        raise CommandError(f"only completed, failed or terminated instances can be purged, "
                           f"not {', '.join(refused)}", EXIT_USAGE)
    before = None if args.before is None else args.before.replace(tzinfo=None)
    result = client.purge_orchestrations_by(created_time_to=before, runtime_status=statuses,
                                            recursive=not args.no_recursive)
    count = result.deleted_instance_count
    return Output(f"purged {count} instance{'s' if count != 1 else ''}",
                  {"command": "purge", "ok": True, "deleted_instance_count": count})


def _purge_one(client: TaskHubGrpcClient, args: argparse.Namespace) -> Output:
    result = client.purge_orchestration(args.instance_id, recursive=not args.no_recursive)
    if result.deleted_instance_count == 0:
        if client.get_orchestration_state(args.instance_id) is None:
            raise not_found(args.instance_id, args.address)
        raise CommandError(
            f"instance {args.instance_id!r} was not purged; only completed, failed or "
            f"terminated instances can be purged (terminate it first)"
        )
    count = result.deleted_instance_count
    return done(
        args, f"purged ({count} instance{'s' if count != 1 else ''} deleted)",
        deleted_instance_count=count,
    )
