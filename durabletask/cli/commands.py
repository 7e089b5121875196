"""The client commands of ``durabletask`` (list, show, history, raise, ...), one function each."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from durabletask.cli import render
from durabletask.client import OrchestrationStatus, TaskHubGrpcClient

EXIT_ERROR = 1
"""The command failed: the instance does not exist, or the sidecar refused the request."""
EXIT_USAGE = 2
"""The command line is wrong (bad flag, bad JSON); nothing was sent."""
EXIT_UNAVAILABLE = 3
"""The sidecar could not be reached at the address."""


class CommandError(Exception):
    """A command failed in a way the user can act on; the message is one line."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        """Create the error.

        Args:
            message: What went wrong and, when useful, what to do.
            exit_code: The process exit status to use.
        """
        super().__init__(message, exit_code)
        self.message = message
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class Output:
    """What a command prints: ``text`` normally, ``document`` as JSON with ``--json``."""

    text: str
    """Human-readable output."""
    document: Any
    """Machine-readable output (plain JSON values)."""
    exit_code: int = 0
    """The exit status after printing (``wait`` of an instance that failed: 1)."""


Command = Callable[[TaskHubGrpcClient, argparse.Namespace], Output]


def parse_status(name: str) -> OrchestrationStatus:
    """Return the status named ``name`` (case-insensitive, ``-`` or ``_``).

    Args:
        name: A status name such as ``running`` or ``continued-as-new``.

    Raises:
        argparse.ArgumentTypeError: No status has that name; the message lists them.
    """
    key = name.strip().upper().replace("-", "_")
    try:
        return OrchestrationStatus[key]
    except KeyError:
        choices = ", ".join(status.name.lower() for status in OrchestrationStatus)
        raise argparse.ArgumentTypeError(
            f"unknown status {name!r}; choose from {choices}"
        ) from None


def positive_int(text: str) -> int:
    """Parse a command-line count of at least 1.

    Raises:
        argparse.ArgumentTypeError: The text is not a whole number >= 1.
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_time(text: str, *, ago: bool = True) -> datetime:
    """Parse an ISO 8601 time (UTC unless it says otherwise) or a duration like ``90m``.

    Args:
        text: ``2025-01-02``, ``2025-01-02T03:04:05Z``, ``...+02:00``, or a number with a
            unit ``s``, ``m``, ``h`` or ``d``.
        ago: A duration means that long ago (``--since``, ``--before``); otherwise that long
            from now (``--start-at``).

    Returns:
        An aware UTC datetime.

    Raises:
        argparse.ArgumentTypeError: Neither a time nor a duration.
    """
    value = text.strip()
    unit = _UNITS.get(value[-1:].lower())
    if unit is not None and value[:-1].replace(".", "", 1).isdigit():
        delta = timedelta(seconds=float(value[:-1]) * unit)
        now = datetime.now(timezone.utc)
        return now - delta if ago else now + delta
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 time (2025-01-02T03:04:05Z) or a duration (90s, 10m, 2h, "
            f"3d), got {text!r}"
        ) from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def parse_json_value(text: str | None, what: str) -> Any:
    """Parse a JSON command-line argument.

    Args:
        text: The argument, or None when it was not given.
        what: What the value is, for the error message.

    Raises:
        CommandError: The text is not valid JSON (exit status 2).
    """
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CommandError(
            f"{what} is not valid JSON ({exc}); quote strings, e.g. '\"approved\"'",
            EXIT_USAGE,
        ) from exc


def not_found(instance_id: str, address: str) -> CommandError:
    """Return the error for an instance that does not exist.

    Args:
        instance_id: The instance id the user gave.
        address: The sidecar address that was asked.
    """
    return CommandError(f"no orchestration instance {instance_id!r} at {address}")


def show_history(client: TaskHubGrpcClient, args: argparse.Namespace) -> Output:
    """``history ID``: the history events of one instance, oldest first."""
    events = client.get_orchestration_history(args.instance_id)
    if not events and client.get_orchestration_state(args.instance_id) is None:
        raise not_found(args.instance_id, args.address)
    text = render.render_table(render.HISTORY_HEADERS, (render.event_row(e) for e in events))
    return Output(text, [render.history_document(event) for event in events])


def raise_event(client: TaskHubGrpcClient, args: argparse.Namespace) -> Output:
    """``raise ID NAME [DATA]``: send an external event to an instance."""
    data = parse_json_value(args.data, "the event data")
    if not args.keep_if_missing:
        require_instance(client, args)
    client.raise_orchestration_event(args.instance_id, args.event_name, data=data)
    return done(args, f"raised event {args.event_name!r}", event_name=args.event_name)


def terminate_instance(client: TaskHubGrpcClient, args: argparse.Namespace) -> Output:
    """``terminate ID [--output JSON]``: terminate an instance (and its sub-orchestrations)."""
    output = parse_json_value(args.output, "--output")
    require_instance(client, args)
    client.terminate_orchestration(
        args.instance_id, output=output, recursive=not args.no_recursive
    )
    return done(args, "terminated")


def suspend_instance(client: TaskHubGrpcClient, args: argparse.Namespace) -> Output:
    """``suspend ID [--reason TEXT]``: suspend an instance."""
    require_instance(client, args)
    client.suspend_orchestration(args.instance_id, reason=args.reason)
    return done(args, "suspended")


def resume_instance(client: TaskHubGrpcClient, args: argparse.Namespace) -> Output:
    """``resume ID [--reason TEXT]``: resume a suspended instance."""
    require_instance(client, args)
    client.resume_orchestration(args.instance_id, reason=args.reason)
    return done(args, "resumed")


def require_instance(client: TaskHubGrpcClient, args: argparse.Namespace) -> None:
    """Raise the not-found error unless ``args.instance_id`` exists."""
    if client.get_orchestration_state(args.instance_id, fetch_payloads=False) is None:
        raise not_found(args.instance_id, args.address)


def done(args: argparse.Namespace, what: str, **details: Any) -> Output:
    """Return the output of a command that did ``what`` to ``args.instance_id``."""
    return Output(
        f"instance {args.instance_id!r} {what}",
        {"instance_id": args.instance_id, "command": args.command, "ok": True, **details},
    )


COMMANDS: dict[str, Command] = {
    "history": show_history,
    "raise": raise_event,
    "terminate": terminate_instance,
    "suspend": suspend_instance,
    "resume": resume_instance,
}
"""Client command name -> function; the parser defines their arguments."""
