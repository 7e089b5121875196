"""``durabletask export --to FOLDER``: write the histories of finished instances to files.

The command is a client of any sidecar: no worker or export job is involved. It lists
the terminal instances that match the filters and writes each one's history (with its
status, input and output as metadata, in the history-export format) to
``FOLDER/<instance id>.jsonl.gz`` (or ``.json``), the id percent-encoded where it has
characters that are unsafe in file names. Each file is written under a temporary name
and renamed when complete; an unwritable folder fails the command before anything is
exported.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from durabletask.cli.commands import EXIT_USAGE, CommandError, Output, parse_status
from durabletask.client import OrchestrationState, OrchestrationStatus, TaskHubGrpcClient

_TERMINAL = (OrchestrationStatus.COMPLETED, OrchestrationStatus.FAILED,
             OrchestrationStatus.TERMINATED)
_EXTENSIONS = {"jsonl-gz": ".jsonl.gz", "json": ".json"}  # --format -> file extension
_PAGE_SIZE = 100


def add_export_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    shared: argparse.ArgumentParser,
) -> None:
    """Add the ``export`` subcommand.

    Args:
        commands: The top-level subcommands.
        shared: Parent parser with ``--address``, ``--json`` and ``--timeout``.
    """
    export = commands.add_parser(
        "export", parents=[shared],
        help="write the histories of finished instances to a folder",
        description="Write the history of each completed, failed or terminated instance "
                    "to FOLDER/<instance id>.jsonl.gz (or .json), with its status, input "
                    "and output; see docs/history-export.md.",
    )
    export.add_argument("--to", required=True, metavar="FOLDER", dest="folder",
                        help="the folder to write to (created if missing)")
    export.add_argument(
        "--status", nargs="+", action="extend", type=_terminal_status, metavar="S",
        help="only instances in these statuses (completed, failed, terminated; default all)")
    export.add_argument("--completed-after", type=_timestamp, metavar="TIME",
                        help="only instances completed at or after TIME (ISO 8601; UTC if "
                             "no offset)")
    export.add_argument("--completed-before", type=_timestamp, metavar="TIME",
                        help="only instances completed before TIME")
    export.add_argument("--format", choices=sorted(_EXTENSIONS), default="jsonl-gz",
                        help="gzipped JSON lines (default) or one JSON document")


def _terminal_status(name: str) -> OrchestrationStatus:
    status = parse_status(name)
    if status not in _TERMINAL:
        raise argparse.ArgumentTypeError(
            f"only finished instances are exported; choose from completed, failed, terminated "
            f"(got {name!r})")
    return status


def _timestamp(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 time such as 2026-01-31T12:00:00+00:00, got {text!r}"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def file_name_for(instance_id: str, format_name: str = "jsonl-gz") -> str:
    """The file an instance's history is exported to: its id, percent-encoded where unsafe.

    Args:
        instance_id: The instance.
        format_name: The ``--format`` value: ``jsonl-gz`` or ``json``.
    """
    safe = quote(instance_id, safe="-_.@~+=,")
    return ("%2E" + safe[1:] if safe.startswith(".") else safe) + _EXTENSIONS[format_name]


def export_histories(client: TaskHubGrpcClient, args: argparse.Namespace) -> Output:
    """``export --to FOLDER``: write each matching terminal instance's history to a file."""
    # Loaded here, so that the other commands do not load the export extension.
    from durabletask.extensions.history_export import (
        ExportFormat,
        ExportFormatKind,
        HistoryExportContext,
        LocalFolderHistoryWriter,
    )
    from durabletask.extensions.history_export.activities import export_instance

    if args.completed_after and args.completed_before \
            and args.completed_before <= args.completed_after:
        raise CommandError("--completed-before must be later than --completed-after", EXIT_USAGE)
    folder = Path(args.folder)
    _check_writable(folder)
    kind = ExportFormatKind.JSON if args.format == "json" else ExportFormatKind.JSONL_GZIP
    fmt = ExportFormat(kind=kind)
    context = HistoryExportContext(client, LocalFolderHistoryWriter(folder, per_container=False))
    written: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []

    def name(state: OrchestrationState) -> str:
        return file_name_for(state.instance_id, args.format)

    for instance_id in _terminal_instances(client, args):
        blob, error = export_instance(context, instance_id, fmt=fmt, container="",
                                      blob_name_for=name)
        if blob is None:
            failed.append({"instance_id": instance_id, "error": error})
        else:
            written.append({"instance_id": instance_id, "file": str(folder / blob)})
    document = {"folder": str(folder), "exported": written, "failed": failed}
    if failed:
        raise CommandError(
            f"exported {len(written)} instance(s) to {folder}, {len(failed)} failed; first: "
            f"{failed[0]['instance_id']!r}: {failed[0]['error']}")
    lines = [f"{item['instance_id']}\t{item['file']}" for item in written]
    lines.append(f"exported {len(written)} instance(s) to {folder}")
    return Output("\n".join(lines), document)


def _check_writable(folder: Path) -> None:
    """Fail before anything is exported when files cannot be created in ``folder``."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".durabletask-export-", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise CommandError(
            f"cannot write to {str(folder)!r}: {exc.strerror or exc}; nothing was exported"
        ) from exc


def _terminal_instances(client: TaskHubGrpcClient, args: argparse.Namespace) -> list[str]:
    found: list[str] = []
    token: str | None = None
    while True:
        page = client.list_instance_ids(
            runtime_status=list(args.status or _TERMINAL),
            completed_time_from=args.completed_after,
            completed_time_to=args.completed_before,
            page_size=_PAGE_SIZE,
            continuation_token=token,
        )
        found.extend(page.items)
        token = page.continuation_token
        if not token or not page.items:
            return found
