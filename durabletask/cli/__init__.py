"""The ``durabletask`` command line: run the embedded sidecar, inspect and control instances."""

from __future__ import annotations

import os
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``durabletask`` command line (the console script's entry point).

    Args:
        argv: The arguments without the program name; ``sys.argv[1:]`` by default.

    Returns:
        The exit status (see ``durabletask --help``).
    """
    # gRPC's C core prints its own multi-line copy of errors the command already reports in
    # one line (a taken port, a refused connection). It reads this once, when grpc is first
    # imported, so it is set before the imports below; an explicit setting wins.
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    from durabletask.cli.entry import main as run_command

    return run_command(argv)
