"""``durabletask`` entry point: parse, run one command, turn every failure into one stderr line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

import grpc

from durabletask.cli.commands import (
    COMMANDS,
    EXIT_ERROR,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    Command,
    CommandError,
    Output,
)
from durabletask.cli.connection import call_metadata
from durabletask.cli.entity_commands import ENTITY_COMMANDS
from durabletask.cli.export_command import export_histories
from durabletask.cli.instance_commands import (
    purge_instances,
    rewind_instance,
    show_instance,
    start_instance,
    wait_instance,
)
from durabletask.cli.listing import list_instances
from durabletask.cli.parser import build_parser
from durabletask.cli.render import render_json, shorten
from durabletask.cli.replay_command import run_replay
from durabletask.cli.sidecar_commands import (
    list_workers,
    orphan_events_command,
    vacuum_database,
)
from durabletask.client import TaskHubGrpcClient
from durabletask.errors import DurableTaskError, SidecarError, SidecarUnavailableError
from durabletask.grpc_options import GrpcClientResiliencyOptions
from durabletask.internal.transport.status import status_code, status_details
from durabletask.sidecar.cli_flags import launch_from_args
from durabletask.sidecar.program import run_sidecar

EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``durabletask`` command line.

    Args:
        argv: The arguments without the program name; ``sys.argv[1:]`` by default.

    Returns:
        The exit status: 0 success, 1 the command failed, 2 bad usage or unusable database,
        3 the sidecar cannot be reached, 130 interrupted.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if args.command == "sidecar":
        return _run_sidecar(args)
    if args.command == "replay":
        return run_replay(args)
    try:
        if args.command == "vacuum":
            output = vacuum_database(args)
        else:
            output = _run_client_command(args)
    except CommandError as exc:
        return _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    status = _print(output.document if args.json else output.text, as_json=args.json)
    return status or output.exit_code


def _run_sidecar(args: argparse.Namespace) -> int:
    try:
        launch = launch_from_args(args)
    except ValueError as exc:
        return _fail(f"durabletask sidecar: {exc}", EXIT_USAGE, prefix="")
    return run_sidecar(launch)


def _run_client_command(args: argparse.Namespace) -> Output:
    if not args.timeout > 0:
        raise CommandError(f"--timeout must be > 0 seconds, got {args.timeout}", EXIT_USAGE)
    resiliency = GrpcClientResiliencyOptions(default_call_timeout_seconds=args.timeout)
    metadata = call_metadata(args)
    # The command reports what went wrong in one line; the SDK's own log records (retries,
    # reconnects) would only repeat it.
    logging.getLogger("durabletask").setLevel(logging.CRITICAL + 1)
    try:
        with TaskHubGrpcClient(host_address=args.address, resiliency_options=resiliency,
                               metadata=metadata or None) as client:
            return ALL_COMMANDS[args.command](client, args)
    except CommandError:
        raise
    except SidecarUnavailableError as exc:
        raise _unreachable(args, grpc.StatusCode.UNAVAILABLE, exc.details()) from exc
    except TimeoutError as exc:
        raise _unreachable(args, grpc.StatusCode.DEADLINE_EXCEEDED, "") from exc
    except SidecarError as exc:
        raise CommandError(_rpc_message(exc, args)) from exc
    except grpc.RpcError as exc:  # a raw stub's call (list, workers, orphan-events)
        if isinstance(exc, grpc.Call) and exc.code() in _UNREACHABLE:
            raise _unreachable(args, exc.code(), exc.details() or "") from exc
        raise CommandError(_rpc_message(exc, args)) from exc
    except (DurableTaskError, ValueError, TypeError) as exc:
        raise CommandError(shorten(str(exc), 300)) from exc


_UNREACHABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


def _unreachable(args: argparse.Namespace, code: grpc.StatusCode, details: str) -> CommandError:
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return CommandError(
            f"the sidecar at {args.address} did not answer within {args.timeout:g}s; "
            f"raise --timeout or check that it is running",
            EXIT_UNAVAILABLE,
        )
    return CommandError(
        f"cannot reach a sidecar at {args.address} ({shorten(details, 120)}); start "
        f"one with `durabletask sidecar` or pass --address HOST:PORT",
        EXIT_UNAVAILABLE,
    )


ALL_COMMANDS: dict[str, Command] = {
    **COMMANDS,
    **ENTITY_COMMANDS,
    "export": export_histories,
    "list": list_instances,
    "show": show_instance,
    "start": start_instance,
    "wait": wait_instance,
    "rewind": rewind_instance,
    "purge": purge_instances,
    "workers": list_workers,
    "orphan-events": orphan_events_command,
}
"""Every client command by name; the parser defines their arguments."""


def _rpc_message(exc: grpc.RpcError, args: argparse.Namespace) -> str:
    code = status_code(exc)
    details = status_details(exc)
    if details is None:
        details = str(exc)
    if code == grpc.StatusCode.NOT_FOUND and getattr(args, "instance_id", None):
        return f"no orchestration instance {args.instance_id!r} at {args.address}"
    name = code.name if isinstance(code, grpc.StatusCode) else "error"
    text = shorten(details, 400)
    return f"the sidecar at {args.address} refused {args.command}: {name}: {text}"


def _print(document: object, *, as_json: bool) -> int:
    text = render_json(document) if as_json else str(document)
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away; that is not an error of this command.
        return 0
    return 0


def _fail(message: str, exit_code: int = EXIT_ERROR, prefix: str = "durabletask: ") -> int:
    sys.stderr.write(f"{prefix}{message}\n")
    return exit_code
