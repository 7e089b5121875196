"""How the client commands reach a sidecar: address, token, task hub, and raw stubs.

The token never has to be on the command line (where ``ps`` shows it): it comes from
``$DURABLETASK_TOKEN`` or from the file named by ``--token-file``. Every call then carries
``authorization: Bearer <token>``, and ``taskhub: <name>`` when a task hub is chosen.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc

from durabletask.cli.commands import EXIT_USAGE, CommandError
from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from durabletask.internal.proto import sidecar_admin_pb2_grpc as admin_grpc
from durabletask.internal.transport.channel import ChannelSpec
from durabletask.sidecar.cli_flags import read_token_file

TOKEN_ENV = "DURABLETASK_TOKEN"
TASKHUB_ENV = "DURABLETASK_TASKHUB"


def read_token(args: argparse.Namespace) -> str | None:
    """Return the bearer token from ``--token-file`` or ``$DURABLETASK_TOKEN``, or None.

    Raises:
        CommandError: The token file cannot be read or is empty (exit status 2).
    """
    path = getattr(args, "token_file", None)
    if path:
        try:
            return read_token_file(path, "--token-file")
        except ValueError as exc:
            raise CommandError(str(exc), EXIT_USAGE) from exc
    return os.environ.get(TOKEN_ENV, "").strip() or None


def call_metadata(args: argparse.Namespace) -> list[tuple[str, str]]:
    """Return the metadata every call of a command carries (token and task hub)."""
    metadata: list[tuple[str, str]] = []
    token = read_token(args)
    if token is not None:
        metadata.append(("authorization", f"Bearer {token}"))
    if getattr(args, "taskhub", None):
        metadata.append(("taskhub", args.taskhub))
    return metadata


@dataclass
class Stubs:
    """Raw stubs of the standard service and of our sidecar's admin extension."""

    sidecar: Any
    """``TaskHubSidecarServiceStub``."""
    admin: Any
    """``SidecarAdminStub`` (other sidecars answer UNIMPLEMENTED)."""
    metadata: tuple[tuple[str, str], ...]
    """Token and task hub metadata to send with every call."""
    timeout: float
    """Deadline of each call, in seconds."""


@contextlib.contextmanager
def open_stubs(args: argparse.Namespace) -> Iterator[Stubs]:
    """Open a channel to ``args.address`` for the calls the client has no method for."""
    spec = ChannelSpec.from_args(args.address)
    channel: grpc.Channel = spec.open_sync()
    try:
        yield Stubs(pb_grpc.TaskHubSidecarServiceStub(channel),
                    admin_grpc.SidecarAdminStub(channel),
                    tuple(call_metadata(args)), args.timeout)
    finally:
        channel.close()


def unsupported(exc: grpc.RpcError) -> bool:
    """True when the sidecar does not implement the called RPC (not our sidecar)."""
    return isinstance(exc, grpc.Call) and exc.code() == grpc.StatusCode.UNIMPLEMENTED
