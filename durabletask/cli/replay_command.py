"""``durabletask replay FILE... --module MODULE[:NAME]``: recorded histories against the code.

No sidecar is involved: each history file (``durabletask history ID --json``, or a list of
``history.to_dict`` documents) is replayed by ``durabletask.testing.Replayer`` against the
orchestrators found in the given modules. Exit status 0 when every history replays
cleanly, 1 when any has a mismatch (for CI), 2 when a module, a file or an orchestrator
cannot be found.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from types import ModuleType
from typing import Any

from durabletask.cli.commands import EXIT_ERROR, EXIT_USAGE
from durabletask.cli.render import render_json

__all__ = ["add_replay_command", "run_replay"]

_DESCRIPTION = """\
Replay recorded orchestration histories against the current orchestrator code, without a
sidecar, and report every place where the code no longer does what the history records
(an activity renamed, a step added or removed, a timer changed, another outcome).

Record a history with `durabletask history ID --json > FILE`. MODULE is imported from the
current directory; MODULE:NAME names an orchestrator function, or a list or dict of them,
or a durabletask.testing.Replayer. With MODULE alone, each history's orchestrator is looked
up in the module by name.

exit status: 0 every history replays cleanly, 1 a history has a mismatch,
2 bad command line, unreadable history, module or orchestrator not found.
"""


class _UsageError(Exception):
    """The replay cannot be run as asked; the message says why (exit status 2)."""


def add_replay_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``replay`` subcommand to the ``durabletask`` parser."""
    replay = commands.add_parser(
        "replay", help="replay recorded histories against orchestrator code (no sidecar)",
        description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    replay.add_argument("files", nargs="+", metavar="FILE", help="history JSON files")
    replay.add_argument(
        "-m", "--module", action="append", required=True, metavar="MODULE[:NAME]",
        help="where the orchestrators are (repeatable)",
    )
    replay.add_argument("--json", action="store_true", help="print machine-readable JSON")


def run_replay(args: argparse.Namespace) -> int:
    """Run ``durabletask replay``; returns the exit status."""
    from durabletask.testing import Replayer

    try:
        finder = _OrchestratorFinder(args.module)
        replayer = finder.replayer or Replayer()
        results = [_replay_one(replayer, finder, path) for path in args.files]
    except _UsageError as exc:
        sys.stderr.write(f"durabletask replay: {exc}\n")
        return EXIT_USAGE
    if args.json:
        document = [{**asdict(r), "ok": r.ok} for r in results]
        sys.stdout.write(render_json(document) + "\n")
    else:
        sys.stdout.write(_report(results) + "\n")
    return EXIT_ERROR if any(not r.ok for r in results) else 0


def _replay_one(replayer: Any, finder: _OrchestratorFinder, path: str) -> Any:
    from durabletask.internal.engine import OrchestratorNotRegisteredError
    from durabletask.task import OrchestrationStateError
    from durabletask.testing import HistoryFormatError
    from durabletask.testing.history_json import load_history

    try:
        events = load_history(path)
        name = next((e.executionStarted.name for e in events if e.HasField("executionStarted")),
                    None)
        if name is not None and name not in replayer.orchestrator_names:
            fn = finder.find(name)
            if fn is not None:
                replayer.add_orchestrator(fn, name)
        return replayer.replay(events, source=path)
    except (OSError, HistoryFormatError, OrchestrationStateError,
            OrchestratorNotRegisteredError) as exc:
        raise _UsageError(str(exc) if path in str(exc) else f"{path}: {exc}") from exc


def _report(results: Sequence[Any]) -> str:
    lines = [str(result) for result in results]
    failed = sum(1 for result in results if not result.ok)
    lines.append(f"{len(results)} histor{'ies' if len(results) != 1 else 'y'} replayed, "
                 f"{failed} with mismatches")
    return "\n".join(lines)


class _OrchestratorFinder:
    """Resolves ``--module`` targets to orchestrator functions."""

    def __init__(self, targets: Iterable[str]) -> None:
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())  # as `python -m` does: the project's modules
        self.replayer: Any = None
        self._named: dict[str, Callable[..., Any]] = {}
        self._modules: list[ModuleType] = []
        for target in targets:
            self._add_target(target)

    def _add_target(self, target: str) -> None:
        from durabletask.task import get_name
        from durabletask.testing import Replayer

        module_name, _, attribute = target.partition(":")
        module = _import(module_name)
        if not attribute:
            self._modules.append(module)
            return
        found = _attribute(module, attribute, target)
        if isinstance(found, Replayer):
            self.replayer = found
        elif isinstance(found, dict):
            self._named.update(found)
        elif isinstance(found, (list, tuple, set, frozenset)):
            self._named.update({get_name(fn): fn for fn in found})
        elif callable(found):
            self._named[get_name(found)] = found
        else:
            raise _UsageError(
                f"{target} is {type(found).__name__}; expected an orchestrator function, a "
                "list or dict of them, or a Replayer")

    def find(self, name: str) -> Callable[..., Any] | None:
        """Return the orchestrator registered as ``name``, or None if no module has it."""
        if name in self._named:
            return self._named[name]
        for module in self._modules:
            candidate = getattr(module, name, None)
            if callable(candidate):
                return candidate
            for value in vars(module).values():
                if callable(value) and getattr(value, "__name__", None) == name:
                    return value
        return None


def _import(module_name: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except Exception as exc:  # any import-time failure of user code is reported, not raised
        raise _UsageError(f"cannot import {module_name!r}: {type(exc).__name__}: {exc}") from exc


def _attribute(module: ModuleType, path: str, target: str) -> Any:
    found: Any = module
    for part in path.split("."):
        if not hasattr(found, part):
            raise _UsageError(f"{target}: {module.__name__} has no attribute {path!r}")
        found = getattr(found, part)
    return found
