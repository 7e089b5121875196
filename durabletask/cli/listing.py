"""``durabletask list``: instances newest first, paged on the sidecar, at most ``--limit``.

The command asks for one page at a time (``QueryInstances`` with ``maxInstanceCount``) and
stops once it has ``--limit`` instances, so a store of any size costs one or two pages. Our
sidecar also applies the command's newest-first order and ``--name`` filter (hints of our
wire dialect) and keeps each page within 4 MiB whatever the payloads. Other sidecars get
the standard request: the command then filters by name itself and orders what it got.
"""

from __future__ import annotations

import argparse
from typing import Any

from durabletask.cli import render
from durabletask.cli.commands import Output
from durabletask.cli.connection import Stubs, open_stubs
from durabletask.client import TaskHubGrpcClient
from durabletask.internal.dialect import QueryHints
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.requests.models import parse_orchestration_state

__all__ = ["list_instances"]

_PAGE_SIZE = 100
_MAX_HINTED_NAME = 1024


def list_instances(client: TaskHubGrpcClient, args: argparse.Namespace) -> Output:
    """``list``: the newest instances first, filtered by status, name and creation time."""
    with open_stubs(args) as stubs:
        states, more = _collect(stubs, args)
    shown = [parse_orchestration_state(state) for state in states]
    text = render.render_table(render.STATE_HEADERS, (render.state_row(s) for s in shown))
    if more:
        plural = "s" if len(shown) != 1 else ""
        text += f"\n({len(shown)} instance{plural} shown; more match: raise --limit to see them)"
    elif not shown:
        text = "no orchestration instances"
    return Output(text, [render.state_document(state) for state in shown])


def _request(args: argparse.Namespace, page: int, token: str) -> pb.QueryInstancesRequest:
    query = pb.InstanceQuery(
        runtimeStatus=[status.value for status in (args.status or ())],
        maxInstanceCount=page,
        fetchInputsAndOutputs=args.json,
    )
    if args.since is not None:
        query.createdTimeFrom.FromDatetime(args.since)
    if token:
        query.continuationToken.value = token
    return pb.QueryInstancesRequest(query=query)


def _collect(stubs: Stubs, args: argparse.Namespace) -> tuple[list[pb.OrchestrationState], bool]:
    """Fetch pages until ``--limit`` instances (and one more, to know there are more)."""
    # gRPC metadata is small (8 KiB in all); a longer name is filtered here instead.
    by_name = args.name is not None and len(args.name) <= _MAX_HINTED_NAME
    hints = QueryHints(newest_first=True, name=args.name if by_name else None)
    metadata = (*stubs.metadata, *hints.to_metadata())
    wanted = args.limit + 1
    found: list[pb.OrchestrationState] = []
    token = ""
    applied = True
    while len(found) < wanted:
        request = _request(args, min(_PAGE_SIZE, wanted - len(found)), token)
        response, call = stubs.sidecar.QueryInstances.with_call(
            request, timeout=stubs.timeout, metadata=metadata)
        applied = QueryHints.applied(call.initial_metadata())
        found.extend(state for state in response.orchestrationState
                     if (applied and by_name) or args.name is None or state.name == args.name)
        token = response.continuationToken.value if response.HasField(
            "continuationToken") else ""
        if not token:
            break
    if not applied:  # another sidecar: newest first among what it sent
        found.sort(key=_created, reverse=True)
    return found[: args.limit], len(found) > args.limit


def _created(state: pb.OrchestrationState) -> Any:
    return (state.createdTimestamp.seconds, state.createdTimestamp.nanos)
