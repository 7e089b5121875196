"""A sidecar over an SQLite file for crash tests: prints its address, serves until killed."""

from __future__ import annotations

import argparse
import json
import sys

from durabletask.sidecar import EmbeddedSidecar
from durabletask.sidecar.store import SqliteStore, StoreOpenError


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-recovery-attempts", type=int, default=5)
    parser.add_argument("--lease-timeout", type=float, default=300.0)
    args = parser.parse_args()
    try:
        store = SqliteStore(args.db)
    except StoreOpenError as exc:
        sys.stderr.write(f"sidecar_child: {exc}\n")
        return 2
    sidecar = EmbeddedSidecar(
        "127.0.0.1", args.port, store=store, max_recovery_attempts=args.max_recovery_attempts,
        lease_timeout_seconds=args.lease_timeout, health_ping_interval_seconds=5.0,
    )
    address = sidecar.start()
    print(json.dumps({"address": address}), flush=True)
    sys.stdin.read()  # serve until the test closes stdin or kills us
    sidecar.stop(0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
