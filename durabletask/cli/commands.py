"""The client commands of ``durabletask`` (list, show, history, raise, ...), one function each."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from durabletask.cli import render
from durabletask.client import OrchestrationQuery, OrchestrationStatus, TaskHubGrpcClient

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


def list_instances(client: TaskHubGrpcClient, args: argparse.Namespace) -> Output:
    """``list``: the newest instances first, optionally filtered by status."""
    query = OrchestrationQuery(
        runtime_status=args.status or None, fetch_inputs_and_outputs=args.json
    )
    states = client.get_all_orchestration_states(query)
    states.sort(key=lambda state: state.created_at, reverse=True)
    shown = states[: args.limit] if args.limit is not None else states
    text = render.render_table(render.STATE_HEADERS, (render.state_row(s) for s in shown))
    if len(shown) < len(states):
        text += f"\n({len(shown)} of {len(states)} instances shown; use --limit to see more)"
    elif not states:
        text = "no orchestration instances"
    return Output(text, [render.state_document(state) for state in shown])


def show_instance(client: TaskHubGrpcClient, args: argparse.Namespace) -> Output:
    """``show ID``: the state of one instance, with its input, output and failure."""
    state = client.get_orchestration_state(args.instance_id, fetch_payloads=True)
    if state is None:
        raise not_found(args.instance_id, args.address)
    return Output(render.render_fields(render.state_fields(state)), render.state_document(state))


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
    _require_instance(client, args)
    client.raise_orchestration_event(args.instance_id, args.event_name, data=data)
    return _done(args, f"raised event {args.event_name!r}", event_name=args.event_name)


def terminate_instance(client: TaskHubGrpcClient, args: argparse.Namespace) -> Output:
    """``terminate ID [--output JSON]``: terminate an instance (and its sub-orchestrations)."""
    output = parse_json_value(args.output, "--output")
    _require_instance(client, args)
    client.terminate_orchestration(
        args.instance_id, output=output, recursive=not args.no_recursive
    )
    return _done(args, "terminated")


def suspend_instance(client: TaskHubGrpcClient, args: argparse.Namespace) -> Output:
    """``suspend ID [--reason TEXT]``: suspend an instance."""
    _require_instance(client, args)
    client.suspend_orchestration(args.instance_id, reason=args.reason)
    return _done(args, "suspended")


def resume_instance(client: TaskHubGrpcClient, args: argparse.Namespace) -> Output:
    """``resume ID [--reason TEXT]``: resume a suspended instance."""
    _require_instance(client, args)
    client.resume_orchestration(args.instance_id, reason=args.reason)
    return _done(args, "resumed")


def purge_instance(client: TaskHubGrpcClient, args: argparse.Namespace) -> Output:
    """``purge ID``: delete a finished instance's state and history."""
    result = client.purge_orchestration(args.instance_id, recursive=not args.no_recursive)
    if result.deleted_instance_count == 0:
        if client.get_orchestration_state(args.instance_id) is None:
            raise not_found(args.instance_id, args.address)
        raise CommandError(
            f"instance {args.instance_id!r} was not purged; only completed, failed or "
            f"terminated instances can be purged (terminate it first)"
        )
    count = result.deleted_instance_count
    return _done(
        args, f"purged ({count} instance{'s' if count != 1 else ''} deleted)",
        deleted_instance_count=count,
    )


def _require_instance(client: TaskHubGrpcClient, args: argparse.Namespace) -> None:
    if client.get_orchestration_state(args.instance_id, fetch_payloads=False) is None:
        raise not_found(args.instance_id, args.address)


def _done(args: argparse.Namespace, what: str, **details: Any) -> Output:
    return Output(
        f"instance {args.instance_id!r} {what}",
        {"instance_id": args.instance_id, "command": args.command, "ok": True, **details},
    )


COMMANDS: dict[str, Command] = {
    "list": list_instances,
    "show": show_instance,
    "history": show_history,
    "raise": raise_event,
    "terminate": terminate_instance,
    "suspend": suspend_instance,
    "resume": resume_instance,
    "purge": purge_instance,
}
"""Client command name -> function; the parser defines their arguments."""
