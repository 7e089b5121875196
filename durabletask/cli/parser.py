"""The argument parser of the ``durabletask`` command: one subcommand per job."""

from __future__ import annotations

import argparse
import os
import sys

from durabletask.cli.commands import parse_status, parse_time, positive_int
from durabletask.cli.connection import TASKHUB_ENV, TOKEN_ENV
from durabletask.cli.entity_commands import add_entity_commands
from durabletask.cli.export_command import add_export_command
from durabletask.cli.more_parsers import add_more_commands
from durabletask.cli.replay_command import add_replay_command
from durabletask.sidecar.cli_flags import add_sidecar_arguments

DEFAULT_ADDRESS = "localhost:4001"
ADDRESS_ENV = "DURABLETASK_ADDRESS"
DEFAULT_TIMEOUT_SECONDS = 10.0

_DESCRIPTION = """\
Run the embedded Durable Task sidecar, or inspect and control orchestrations on any
sidecar that speaks the Durable Task gRPC protocol.

exit status: 0 success, 1 the command failed (e.g. no such instance),
2 bad command line or unusable database, 3 the sidecar cannot be reached.
"""


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of ``durabletask`` with all its subcommands."""
    parser = argparse.ArgumentParser(
        prog="durabletask", description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    sidecar = commands.add_parser(
        "sidecar", help="run the embedded sidecar (SQLite state in ./durabletask.db)",
        description="Run the embedded sidecar until SIGTERM or Ctrl-C.",
    )
    add_sidecar_arguments(sidecar)
    shared = _client_options()
    _add_client_commands(commands, shared)
    add_entity_commands(commands, shared)
    add_export_command(commands, shared)
    add_replay_command(commands)
    add_more_commands(commands, shared)
    return parser


def _version() -> str:
    try:
        from importlib.metadata import version

        number = version("durabletask")
    except Exception:  # noqa: BLE001 - a source checkout without metadata
        number = "unknown"
    return f"durabletask {number} (Python {sys.version.split()[0]})"


def _client_options() -> argparse.ArgumentParser:
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument(
        "--address", default=os.environ.get(ADDRESS_ENV) or DEFAULT_ADDRESS,
        help=f"sidecar host:port (default ${ADDRESS_ENV} or {DEFAULT_ADDRESS})",
    )
    shared.add_argument("--json", action="store_true", help="print machine-readable JSON")
    shared.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, metavar="S",
        help=f"seconds each call to the sidecar may take (default {DEFAULT_TIMEOUT_SECONDS:g})",
    )
    shared.add_argument(
        "--taskhub", default=os.environ.get(TASKHUB_ENV) or None, metavar="NAME",
        help=f"task hub to use (the 'taskhub' header; default ${TASKHUB_ENV})",
    )
    shared.add_argument(
        "--token-file", metavar="PATH",
        help=f"send the bearer token read from PATH (default: ${TOKEN_ENV}, if set)",
    )
    return shared


def _add_client_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    shared: argparse.ArgumentParser,
) -> None:
    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, parents=[shared], help=help_text, description=help_text)

    listing = add("list", "list orchestration instances, newest first")
    listing.add_argument(
        "--status", nargs="+", action="extend", type=parse_status, metavar="S",
        help="only instances in these statuses (running, completed, failed, terminated, "
        "pending, suspended, continued_as_new)",
    )
    listing.add_argument(
        "--limit", type=positive_int, default=100, metavar="N",
        help="show at most N instances (default 100)",
    )
    listing.add_argument("--name", metavar="NAME", help="only instances of this orchestrator")
    listing.add_argument(
        "--since", type=parse_time, metavar="WHEN",
        help="only instances created since WHEN (ISO 8601 time, or 10m, 2h, 3d ago)",
    )
    add("show", "show an instance's status, input, output and failure").add_argument(
        "instance_id", metavar="ID"
    )
    add("history", "show an instance's history events").add_argument("instance_id", metavar="ID")
    raising = add("raise", "send an external event to an instance")
    raising.add_argument("instance_id", metavar="ID")
    raising.add_argument("event_name", metavar="NAME")
    raising.add_argument("data", metavar="DATA-JSON", nargs="?", help="event payload as JSON")
    raising.add_argument(
        "--keep-if-missing", action="store_true",
        help="raise it even if no instance ID exists yet: the sidecar keeps it until one starts",
    )
    terminate = add("terminate", "terminate an instance")
    terminate.add_argument("instance_id", metavar="ID")
    terminate.add_argument("--output", metavar="JSON", help="output recorded for the instance")
    terminate.add_argument(
        "--no-recursive", action="store_true", help="leave its sub-orchestrations running"
    )
    for name, what in (("suspend", "suspend a running instance"),
                       ("resume", "resume a suspended instance")):
        command = add(name, what)
        command.add_argument("instance_id", metavar="ID")
        command.add_argument("--reason", help="why, recorded in the history")
    purge = add("purge", "delete finished instances' state and history: one ID, or by filter")
    purge.add_argument("instance_id", metavar="ID", nargs="?")
    purge.add_argument(
        "--status", nargs="+", action="extend", type=parse_status, metavar="S",
        help="purge every instance in these statuses (completed, failed, terminated)",
    )
    purge.add_argument(
        "--before", type=parse_time, metavar="WHEN",
        help="purge finished instances created before WHEN (ISO 8601 time, or 10m, 2h, 3d ago)",
    )
    purge.add_argument(
        "--no-recursive", action="store_true", help="keep their sub-orchestrations"
    )
