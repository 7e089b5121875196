"""A sidecar that ignores SIGTERM, for the escalation tests; launched in place of the python.

``SidecarProcess(python=<wrapper>)`` runs ``<wrapper> -m durabletask.sidecar --host H --port P
...``; the wrapper execs this file with those arguments. It serves the real embedded sidecar
and prints the real ready line, but only SIGKILL ends it (or 60 s, so it never lingers).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from durabletask.sidecar import EmbeddedSidecar
from durabletask.sidecar.program import READY_PREFIX


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args, _ = parser.parse_known_args(sys.argv[3:])  # skip "-m durabletask.sidecar"
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sidecar = EmbeddedSidecar(args.host, args.port)
    address = sidecar.start()
    print(f"{READY_PREFIX}{address} (store: memory)", flush=True)
    threading.Event().wait(60)
    sidecar.stop()


if __name__ == "__main__":
    main()
