"""Arguments of ``start``, ``wait``, ``rewind``, ``workers``, ``orphan-events`` and ``vacuum``."""

from __future__ import annotations

import argparse
import functools

from durabletask.cli.commands import parse_time, positive_int
from durabletask.sidecar.cli_flags import DEFAULT_DB_PATH

_Commands = argparse._SubParsersAction


def add_more_commands(commands: _Commands, shared: argparse.ArgumentParser) -> None:
    """Add the commands that start, wait for and rewind instances, and inspect the sidecar.

    Args:
        commands: The top-level subcommands.
        shared: Parent parser with the connection options (``--address``, ``--json``, ...).
    """
    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, parents=[shared], help=help_text, description=help_text)

    start = add("start", "start a new orchestration instance and print its id")
    start.add_argument("orchestrator", metavar="NAME", help="the orchestrator's name")
    start.add_argument("data", metavar="INPUT-JSON", nargs="?", help="its input as JSON")
    start.add_argument("--id", metavar="ID", help="instance id (default: a new random id)")
    start.add_argument("--version", metavar="V", help="orchestration version")
    start.add_argument(
        "--start-at", type=functools.partial(parse_time, ago=False), metavar="WHEN",
        help="start later: an ISO 8601 time, or a delay (90s, 10m, 2h)",
    )
    wait = add("wait", "wait until an instance ends, then show it (exit 1 unless COMPLETED)")
    wait.add_argument("instance_id", metavar="ID")
    wait.add_argument("--start", action="store_true",
                      help="wait only until it has started (left PENDING)")
    wait.add_argument("--wait-timeout", type=float, metavar="S",
                      help="give up after S seconds (default: wait until it ends; Ctrl-C stops)")
    rewind = add("rewind", "rerun a failed instance from the steps that failed")
    rewind.add_argument("instance_id", metavar="ID")
    rewind.add_argument("--reason", help="why, recorded in the history")
    add("workers", "list the workers connected to the sidecar and the work they hold")
    _add_orphan_events(commands, shared)
    vacuum = commands.add_parser(
        "vacuum", help="give the space of purged instances back to the file system",
        description="Rewrite a SQLite database without its free pages, while no sidecar "
                    "uses it. Databases created by this version also give space back "
                    "after purges on their own.",
    )
    vacuum.add_argument("--db", metavar="PATH", default=DEFAULT_DB_PATH,
                        help=f"the database file (default ./{DEFAULT_DB_PATH})")
    vacuum.add_argument("--json", action="store_true", help="print machine-readable JSON")


def _add_orphan_events(commands: _Commands, shared: argparse.ArgumentParser) -> None:
    orphans = commands.add_parser(
        "orphan-events", help="list or delete events kept for instances that do not exist",
        description="Events raised for instance ids that do not exist are kept until such an "
                    "instance starts; list them, or delete them.",
    )
    sub = orphans.add_subparsers(dest="orphans_command", metavar="SUBCOMMAND", required=True)
    listing = sub.add_parser("list", parents=[shared], help="list them by instance id")
    listing.add_argument("--limit", type=positive_int, default=100, metavar="N",
                         help="show at most N instance ids (default 100)")
    purge = sub.add_parser("purge", parents=[shared], help="delete them")
    purge.add_argument("instance_ids", metavar="ID", nargs="*",
                       help="only the events of these instance ids")
    purge.add_argument("--before", type=parse_time, metavar="WHEN",
                       help="only events raised before WHEN (ISO 8601 time, or 10m, 2h, 3d ago)")
    purge.add_argument("--all", action="store_true", help="delete every kept event")
