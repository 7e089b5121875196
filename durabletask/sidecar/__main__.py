"""``python -m durabletask.sidecar``: the sidecar program (flags as ``durabletask sidecar``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from durabletask.sidecar.cli_flags import add_sidecar_arguments, launch_from_args
from durabletask.sidecar.program import EXIT_CONFIG_ERROR, run_sidecar


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the sidecar until it is stopped.

    Args:
        argv: The arguments without the program name; ``sys.argv[1:]`` by default.

    Returns:
        The process exit status.
    """
    parser = argparse.ArgumentParser(
        prog="python -m durabletask.sidecar",
        description="Run the embedded Durable Task sidecar (gRPC TaskHubSidecarService).",
    )
    add_sidecar_arguments(parser)
    args = parser.parse_args(argv)
    try:
        launch = launch_from_args(args)
    except ValueError as exc:
        sys.stderr.write(f"durabletask sidecar: {exc}\n")
        return EXIT_CONFIG_ERROR
    return run_sidecar(launch)


if __name__ == "__main__":
    sys.exit(main())
