"""A parent process for the parent-death test: starts a SidecarProcess, prints its pid, waits.

The test SIGKILLs this process; the sidecar child must then exit on its own.
"""

from __future__ import annotations

import sys
import threading

from durabletask.sidecar.child_process import SidecarProcess


def main() -> None:
    sidecar = SidecarProcess(startup_timeout=20)
    sidecar.start()
    print(sidecar.pid, flush=True)
    # Bounded so that a failed test cannot leave this process behind for long.
    threading.Event().wait(30)
    sidecar.stop()


if __name__ == "__main__":
    main()
    sys.exit(0)
