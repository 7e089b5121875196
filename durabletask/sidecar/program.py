"""The sidecar as a program: open the store, serve until a signal or parent death, exit cleanly."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import TextIO

from durabletask.sidecar.cli_flags import SidecarLaunch
from durabletask.sidecar.hosting import serve
from durabletask.sidecar.hubs import DEFAULT_HUB, hub_store_path
from durabletask.sidecar.store.base import Store
from durabletask.sidecar.store.memory import MemoryStore
from durabletask.sidecar.store.sqlite import SqliteStore
from durabletask.sidecar.watchdog import ParentWatchdog

logger = logging.getLogger("durabletask.sidecar")

READY_PREFIX = "durabletask sidecar listening on "
"""Start of the one line printed to stdout once the sidecar serves; the address follows."""

DASHBOARD_PREFIX = "durabletask dashboard on "
"""Start of the line printed after the ready line when the dashboard serves; its URL follows."""

EXIT_OK = 0
EXIT_RUNTIME_ERROR = 1
EXIT_CONFIG_ERROR = 2
EXIT_INTERRUPTED = 130

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
# Graceful stop normally takes ~1 s (the server's grace); past this the process is ended
# hard so that a signal or a dead parent always ends it.
_STOP_TIMEOUT_SECONDS = 4.0
_HARD_EXIT_SECONDS = 6.0


class StoreUnavailableError(Exception):
    """The configured store cannot be opened; the message names the file and what to do."""


def open_store(db_path: str | None) -> tuple[Store, str]:
    """Open the store of a launch.

    Args:
        db_path: The SQLite database file, or None for an in-memory store.

    Returns:
        The store and a short description for the ready line (``"sqlite PATH"``, ``"memory"``).

    Raises:
        StoreUnavailableError: The database is corrupt or cannot be opened or written.
    """
    if db_path is None:
        return MemoryStore(), "memory"
    try:
        store: Store = SqliteStore(db_path)
    except Exception as exc:  # noqa: BLE001 - any failure to open is reported the same way
        raise StoreUnavailableError(f"cannot open the database {db_path}: {exc}") from exc
    return store, f"sqlite {db_path}"


def configure_logging(level: str, stream: TextIO) -> None:
    """Send ``durabletask`` log records at ``level`` and above to ``stream``.

    Args:
        level: A ``logging`` level name.
        stream: Where records go (stderr for the program).
    """
    root = logging.getLogger("durabletask")
    root.setLevel(level)
    # An application (or a test) that configured a real handler keeps it.
    if all(isinstance(h, logging.NullHandler) for h in root.handlers):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)


def run_sidecar(
    launch: SidecarLaunch, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run the sidecar until SIGTERM, SIGINT or the death of ``launch.parent_pid``.

    Prints the ready line (``durabletask sidecar listening on HOST:PORT (store: ...)``) to
    ``out`` once serving. Errors are one line on ``err``, never a traceback.

    Args:
        launch: The parsed command line.
        out: Stream of the ready line; stdout by default.
        err: Stream of errors and logs; stderr by default.

    Returns:
        The exit status: 0 after a graceful stop, 1 if serving failed (e.g. the port is
        taken), 2 if the store could not be opened, 130 if interrupted while starting.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    configure_logging(launch.log_level, err)
    try:
        stores, description = open_hub_stores(launch)
    except StoreUnavailableError as exc:
        err.write(f"durabletask sidecar: {exc}\n")
        return EXIT_CONFIG_ERROR

    def on_ready(address: str) -> None:
        out.write(f"{READY_PREFIX}{address} (store: {description})\n")
        out.flush()

    def on_dashboard(url: str) -> None:
        out.write(f"{DASHBOARD_PREFIX}{url}\n")
        out.flush()

    if launch.host not in _LOOPBACK_HOSTS:
        _warn_exposed(launch)
    try:
        asyncio.run(_serve_until_stopped(launch, stores, on_ready, on_dashboard))
    except (RuntimeError, OSError) as exc:
        err.write(f"durabletask sidecar: {exc}\n")
        return EXIT_RUNTIME_ERROR
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers were installed
        return EXIT_INTERRUPTED
    finally:
        for store in stores.values():
            store.close()
    return EXIT_OK


def _warn_exposed(launch: SidecarLaunch) -> None:
    if launch.options.require_token is False:
        logger.warning(
            "binding %s without --require-token: anyone who can reach this address can run "
            "and control orchestrations; require a bearer token, or bind 127.0.0.1",
            launch.host, extra={"host": launch.host},
        )
        return
    which = ("any bearer token is accepted (give the token with --require-token-file to "
             "check it)" if launch.options.require_token is True
             else "calls must carry the bearer token")
    logger.warning(
        "binding %s: %s; the connection is plaintext gRPC (no TLS), so tokens and payloads "
        "can be read on the network: use a trusted network or a TLS proxy in front",
        launch.host, which, extra={"host": launch.host},
    )


def open_hub_stores(launch: SidecarLaunch) -> tuple[dict[str, Store], str]:
    """Open one store per task hub (one database file each), before serving.

    Without task hub names there is one store for the default hub. Opening every store
    first means a bad database file stops the program before it listens.
    """
    hubs = launch.options.taskhubs or (DEFAULT_HUB,)
    stores: dict[str, Store] = {}
    description = ""
    try:
        for hub in hubs:
            path = hub_store_path(launch.db_path, hub) if launch.db_path else None
            stores[hub], description = open_store(path)
    except StoreUnavailableError:
        for store in stores.values():
            store.close()
        raise
    if len(hubs) > 1:
        description = f"{description} (+{len(hubs) - 1} more task hubs)"
    return stores, description


async def _serve_until_stopped(
    launch: SidecarLaunch,
    stores: dict[str, Store],
    on_ready: Callable[[str], None],
    on_dashboard: Callable[[str], None],
) -> None:
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()

    def request_stop() -> None:
        if not stop_requested.is_set():
            _arm_hard_exit()
        stop_requested.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, request_stop)
    watchdog = None
    if launch.parent_pid is not None:

        def on_parent_death() -> None:
            loop.call_soon_threadsafe(request_stop)

        watchdog = ParentWatchdog(launch.parent_pid, on_parent_death)
        watchdog.start()
    server = asyncio.create_task(serve(
        launch.host, launch.port, options=launch.options, on_ready=on_ready,
        store_factory=stores.__getitem__, dashboard_port=launch.dashboard_port,
        dashboard_host=launch.dashboard_host, on_dashboard=on_dashboard,
    ))
    stopper = asyncio.create_task(stop_requested.wait())
    # The signal handlers stay until the loop closes, so a second Ctrl-C during the
    # graceful stop cannot raise KeyboardInterrupt mid-shutdown.
    try:
        await asyncio.wait({server, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        if watchdog is not None:
            watchdog.stop()
    if server.done():
        server.result()  # serving ended by itself: surface its error
        return
    logger.info("stopping the sidecar")
    server.cancel()
    await asyncio.wait({server}, timeout=_STOP_TIMEOUT_SECONDS)


def _arm_hard_exit() -> None:
    timer = threading.Timer(_HARD_EXIT_SECONDS, os._exit, args=(EXIT_RUNTIME_ERROR,))
    timer.daemon = True
    timer.start()
