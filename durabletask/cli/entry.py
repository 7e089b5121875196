"""``durabletask`` entry point: parse, run one command, turn every failure into one stderr line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import grpc

from durabletask.cli.commands import (
    COMMANDS,
    EXIT_ERROR,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    CommandError,
    Output,
)
from durabletask.cli.entity_commands import ENTITY_COMMANDS
from durabletask.cli.export_command import export_histories
from durabletask.cli.parser import build_parser
from durabletask.cli.render import render_json, shorten
from durabletask.cli.replay_command import run_replay
from durabletask.client import TaskHubGrpcClient
from durabletask.errors import DurableTaskError, SidecarError, SidecarUnavailableError
from durabletask.grpc_options import GrpcClientResiliencyOptions
from durabletask.sidecar.cli_options import launch_from_args
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
        output = _run_client_command(args)
    except CommandError as exc:
        return _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return _print(output.document if args.json else output.text, as_json=args.json)


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
    try:
        with TaskHubGrpcClient(host_address=args.address, resiliency_options=resiliency) as client:
            commands = {**COMMANDS, **ENTITY_COMMANDS, "export": export_histories}
            return commands[args.command](client, args)
    except CommandError:
        raise
    except SidecarUnavailableError as exc:
        raise CommandError(
            f"cannot reach a sidecar at {args.address} ({shorten(exc.details(), 120)}); start "
            f"one with `durabletask sidecar` or pass --address HOST:PORT",
            EXIT_UNAVAILABLE,
        ) from exc
    except TimeoutError as exc:
        raise CommandError(
            f"the sidecar at {args.address} did not answer within {args.timeout:g}s; "
            f"raise --timeout or check that it is running",
            EXIT_UNAVAILABLE,
        ) from exc
    except (SidecarError, grpc.RpcError) as exc:
        raise CommandError(_rpc_message(exc, args)) from exc
    except (DurableTaskError, ValueError, TypeError) as exc:
        raise CommandError(shorten(str(exc), 300)) from exc


def _rpc_message(exc: grpc.RpcError, args: argparse.Namespace) -> str:
    code = exc.code() if callable(getattr(exc, "code", None)) else None
    details = exc.details() if callable(getattr(exc, "details", None)) else str(exc)
    if code == grpc.StatusCode.NOT_FOUND and getattr(args, "instance_id", None):
        return f"no orchestration instance {args.instance_id!r} at {args.address}"
    name = code.name if isinstance(code, grpc.StatusCode) else "error"
    return f"the sidecar at {args.address} refused {args.command}: {name}: {shorten(details, 200)}"


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
