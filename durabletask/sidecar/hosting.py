"""Running the sidecar: ``SidecarHost`` in a loop, ``EmbeddedSidecar`` on its own thread."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

import grpc

from durabletask.sidecar.clock import SYSTEM_CLOCK, Clock
from durabletask.sidecar.hubs import StoreFactory, TaskHubs
from durabletask.sidecar.options import SidecarOptions, server_options
from durabletask.sidecar.store.base import Store

logger = logging.getLogger("durabletask.sidecar")

# Bound on how long stop() waits for the loop thread beyond the grace period.
_STOP_MARGIN_SECONDS = 5.0
_MAX_PENDING_REQUESTS = 1 << 16

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class IdleState:
    """What the sidecar is doing, as a time-skipping test environment needs to know it."""

    quiet: bool
    """No work is queued, leased to a worker or waiting for its commit, in any task hub."""
    next_due: datetime | None
    """The earliest pending timer of any task hub (durable timers, scheduled starts, delayed
    signals, redelivery backoffs, lease expiries), or None."""


class SidecarHost:
    """The sidecar's gRPC server and core, living in the current event loop."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        store: Store | None = None,
        options: SidecarOptions | None = None,
        clock: Clock = SYSTEM_CLOCK,
        store_factory: StoreFactory | None = None,
        dashboard_port: int | None = None,
        dashboard_host: str = "127.0.0.1",
    ) -> None:
        """Configure (but do not start) a sidecar.

        Args:
            host: Interface to bind; loopback unless told otherwise.
            port: TCP port; 0 picks a free one.
            store: State store; a fresh ``MemoryStore`` when None.
            options: Limits and intervals, task hubs and token check; defaults when None.
            clock: Time source of timestamps, timers, leases and pings (the time seam).
            store_factory: Builds each task hub's store from its name (instead of ``store``).
            dashboard_port: Serve the web dashboard on this port (0: a free one); None: no
                dashboard. Needs ``pip install 'durabletask[dashboard]'``.
            dashboard_host: Interface the dashboard binds (loopback by default).
        """
        self._host = host
        self._requested_port = port
        self.options = options or SidecarOptions()
        self.hubs = TaskHubs(
            self.options.taskhubs, self.options, store=store, store_factory=store_factory,
            clock=clock,
        )
        # The first hub's core and store (the only ones without task hub names).
        self.core = self.hubs.default
        self.store: Store = self.core.store
        self._server: Any = None
        self.port = 0
        self._dashboard_bind = (dashboard_host, dashboard_port)
        self.dashboard: Any = None
        """The running ``DashboardServer``, or None."""

    @property
    def address(self) -> str:
        """``host:port`` clients connect to (valid after :meth:`start`)."""
        return f"{self._host}:{self.port}"

    @property
    def dashboard_url(self) -> str | None:
        """The dashboard's address (``http://127.0.0.1:PORT/``), or None without one."""
        return self.dashboard.url if self.dashboard is not None else None

    async def start(self) -> str:
        """Bind and start serving.

        Returns:
            The address, e.g. ``"127.0.0.1:50123"``.

        Raises:
            RuntimeError: The port (or the dashboard's) could not be bound, or the dashboard
                was asked for without its optional dependency.
        """
        limit = self.options.max_message_bytes
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", limit),
                ("grpc.max_send_message_length", limit),
                ("grpc.so_reuseport", 0),
                # Accept our workers' short keepalive, and ping every connection ourselves,
                # so a worker behind a dead connection (or a stopped worker process) is
                # noticed within seconds and its work items go back to the queue.
                *server_options(self.options),
                # gRPC core cancels calls queued beyond these (default ~1000) before the
                # aio server picks them up; bursts of completions from busy workers hit that.
                ("grpc.server.max_pending_requests", _MAX_PENDING_REQUESTS),
                ("grpc.server.max_pending_requests_hard_limit", _MAX_PENDING_REQUESTS),
            ]
        )
        self.hubs.register(server, self.options.require_token)
        target = f"{self._host}:{self._requested_port}"
        try:
            self.port = server.add_insecure_port(target)
        except RuntimeError as exc:
            raise RuntimeError(
                f"the sidecar could not bind {target} ({exc}); choose another port or pass "
                f"port=0 for a free one"
            ) from exc
        if not self.port:
            raise RuntimeError(
                f"the sidecar could not bind {target}; choose another port or pass port=0"
            )
        self.hubs.start()
        await server.start()
        self._server = server
        logger.info("durabletask sidecar listening on %s", self.address)
        if self._dashboard_bind[1] is not None:
            try:
                await self._start_dashboard()
            except BaseException:
                await self.stop(None)
                raise
        return self.address

    async def _start_dashboard(self) -> None:
        host, port = self._dashboard_bind
        try:
            from durabletask.sidecar.dashboard.server import DashboardServer  # optional extra
        except ImportError as exc:
            raise RuntimeError(str(exc)) from exc
        dashboard = DashboardServer(
            self.hubs, host=host, port=port or 0, require_token=self.options.require_token,
            max_body_bytes=self.options.max_message_bytes,
        )
        await dashboard.start()
        self.dashboard = dashboard

    async def stop(self, grace: float | None = None) -> None:
        """Stop serving: end worker streams, then stop the server; safe to call twice.

        Args:
            grace: Seconds in-flight calls may take to finish; None cancels them now.
        """
        server, self._server = self._server, None
        dashboard, self.dashboard = self.dashboard, None
        if dashboard is not None:
            await dashboard.stop()
        await self.hubs.close()
        if server is not None:
            await server.stop(grace)
        self.hubs.close_stores()

    def reset(self) -> None:
        """Delete all state (of every task hub); call on the host's loop."""
        self.hubs.reset()

    def idle_state(self) -> IdleState:
        """Whether any hub has work in progress, and its earliest timer; call on the loop."""
        cores = self.hubs.cores.values()
        dues = [due for due in (core.timers.next_due() for core in cores) if due is not None]
        return IdleState(all(core.quiet for core in cores), min(dues, default=None))


async def serve(
    host: str = "127.0.0.1",
    port: int = 4001,
    *,
    store: Store | None = None,
    options: SidecarOptions | None = None,
    on_ready: Callable[[str], None] | None = None,
    store_factory: StoreFactory | None = None,
    dashboard_port: int | None = None,
    dashboard_host: str = "127.0.0.1",
    on_dashboard: Callable[[str], None] | None = None,
) -> None:
    """Run a sidecar in the current loop until cancelled (for the CLI).

    Args:
        host: Interface to bind.
        port: TCP port (0 picks a free one).
        store: State store; a ``MemoryStore`` when None.
        options: Limits and intervals.
        on_ready: Called with the address once serving.
        store_factory: Builds each task hub's store from its name (instead of ``store``).
        dashboard_port: Serve the dashboard on this port (0: a free one); None: none.
        dashboard_host: Interface the dashboard binds.
        on_dashboard: Called with the dashboard's URL after ``on_ready``.
    """
    sidecar = SidecarHost(
        host, port, store=store, options=options, store_factory=store_factory,
        dashboard_port=dashboard_port, dashboard_host=dashboard_host,
    )
    address = await sidecar.start()
    if on_ready is not None:
        on_ready(address)
    if on_dashboard is not None and sidecar.dashboard_url is not None:
        on_dashboard(sidecar.dashboard_url)
    try:
        await asyncio.Event().wait()
    finally:
        await asyncio.shield(sidecar.stop(1.0))


class EmbeddedSidecar:
    """A sidecar served from a dedicated thread with its own event loop.

    Example:
        >>> with EmbeddedSidecar() as sidecar:
        ...     address = sidecar.address
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        store: Store | None = None,
        max_history_size: int = 10000,
        health_ping_interval_seconds: float = 5.0,
        max_recovery_attempts: int = 5,
        max_message_bytes: int = 4 * 1024 * 1024,
        abandon_backoff_base_seconds: float = 0.1,
        abandon_backoff_cap_seconds: float = 5.0,
        lease_timeout_seconds: float = 300.0,
        fan_in_batch_window_seconds: float = 0.02,
        group_commit_spacing_seconds: float = 0.0,
        keepalive_time_seconds: float = 10.0,
        keepalive_timeout_seconds: float = 5.0,
        min_client_ping_interval_seconds: float = 5.0,
        default_wait_timeout_seconds: float | None = None,
        max_orphan_events: int = 10000,
        clock: Clock = SYSTEM_CLOCK,
        taskhubs: Sequence[str] = (),
        require_token: bool | str = False,
        store_factory: StoreFactory | None = None,
        dashboard_port: int | None = None,
        dashboard_host: str = "127.0.0.1",
    ) -> None:
        """Configure a sidecar; nothing runs until :meth:`start`.

        Args:
            host: Interface to bind (loopback by default).
            port: TCP port; 0 picks a free one.
            store: State store; a fresh ``MemoryStore`` when None.
            max_history_size: Histories longer than this fail their instance.
            health_ping_interval_seconds: Idle streams get a health ping this often.
            max_recovery_attempts: Redeliveries after lost workers before failing the item.
            max_message_bytes: Largest gRPC message; larger work items fail their instance.
            abandon_backoff_base_seconds: First redelivery delay after an abandon.
            abandon_backoff_cap_seconds: Largest redelivery delay after abandons.
            lease_timeout_seconds: A delivered work item unanswered this long is
                redelivered and counted as a lost worker.
            fan_in_batch_window_seconds: While an instance has activities out, results
                wait up to this long to share one episode; 0 disables.
            group_commit_spacing_seconds: On a SQLite store, the least time between
                two commits; what arrives in between shares the next one. 0 (default):
                what arrives in the same loop turn shares one commit.
            keepalive_time_seconds: The server pings every connection this often.
            keepalive_timeout_seconds: A connection whose ping is unanswered this long is
                closed and its work items redelivered.
            min_client_ping_interval_seconds: Client keepalive pings accepted this often.
            default_wait_timeout_seconds: Cap of ``WaitForInstance*`` calls without a
                deadline; None (default) waits until the caller cancels.
            max_orphan_events: Most events kept for instance ids that do not exist.
            clock: Time source of timestamps, timers, leases and pings (the time seam).
            taskhubs: Task hub names, each with isolated state, picked per call by the
                ``taskhub`` header (unknown: NOT_FOUND). Empty: one hub, any header.
            require_token: True refuses calls without ``authorization: Bearer <token>``
                (UNAUTHENTICATED); a string requires exactly that token.
            store_factory: Builds each task hub's store from its name; a ``MemoryStore``
                per hub when None. ``store`` is for a single hub only.
            dashboard_port: Also serve the web dashboard on this port of
                ``dashboard_host`` (0: a free one; read :attr:`dashboard_url`); None: no
                dashboard. Needs ``pip install 'durabletask[dashboard]'``.
            dashboard_host: Interface the dashboard binds (loopback by default).
        """
        self._options = SidecarOptions(
            max_history_size=max_history_size,
            health_ping_interval_seconds=health_ping_interval_seconds,
            max_recovery_attempts=max_recovery_attempts,
            max_message_bytes=max_message_bytes,
            abandon_backoff_base_seconds=abandon_backoff_base_seconds,
            abandon_backoff_cap_seconds=abandon_backoff_cap_seconds,
            lease_timeout_seconds=lease_timeout_seconds,
            fan_in_batch_window_seconds=fan_in_batch_window_seconds,
            group_commit_spacing_seconds=group_commit_spacing_seconds,
            keepalive_time_seconds=keepalive_time_seconds,
            keepalive_timeout_seconds=keepalive_timeout_seconds,
            min_client_ping_interval_seconds=min_client_ping_interval_seconds,
            default_wait_timeout_seconds=default_wait_timeout_seconds,
            max_orphan_events=max_orphan_events,
            taskhubs=tuple(taskhubs),
            require_token=require_token,
        )
        self._host_args = (host, port, store, clock)
        self._store_factory = store_factory
        self._dashboard_bind = (dashboard_host, dashboard_port)
        self._host: SidecarHost | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        """The bound TCP port; 0 until started."""
        return self._host.port if self._host is not None else 0

    @property
    def address(self) -> str:
        """``host:port`` to connect to (valid after :meth:`start`)."""
        return f"{self._host_args[0]}:{self.port}"

    @property
    def dashboard_url(self) -> str | None:
        """The dashboard's address once started with ``dashboard_port``, else None."""
        return self._host.dashboard_url if self._host is not None else None

    def start(self) -> str:
        """Bind and serve on a new thread; returns once listening.

        Returns:
            The address, e.g. ``"127.0.0.1:50123"``. Calling again returns it again.

        Raises:
            RuntimeError: The server failed to start (for example, the port is taken).
        """
        with self._lock:
            if self._thread is not None:
                return self.address
            host, port, store, clock = self._host_args
            sidecar = SidecarHost(
                host, port, store=store, options=self._options, clock=clock,
                store_factory=self._store_factory, dashboard_port=self._dashboard_bind[1],
                dashboard_host=self._dashboard_bind[0],
            )
            loop = asyncio.new_event_loop()
            started: concurrent.futures.Future[str] = concurrent.futures.Future()
            thread = threading.Thread(
                target=_run_loop, args=(loop, sidecar, started), name="durabletask-sidecar",
                daemon=True,
            )
            thread.start()
            try:
                started.result()
            except Exception:
                thread.join(_STOP_MARGIN_SECONDS)
                raise
            self._host, self._loop, self._thread = sidecar, loop, thread
            return sidecar.address

    def stop(self, grace: float | None = None) -> None:
        """Stop serving and join the thread; idempotent, safe before :meth:`start`.

        Args:
            grace: Seconds in-flight calls may take to finish; None cancels them now.
        """
        with self._lock:
            sidecar, loop, thread = self._host, self._loop, self._thread
            self._loop = self._thread = None
            if sidecar is None or loop is None or thread is None:
                return
            timeout = (grace or 0.0) + _STOP_MARGIN_SECONDS
            future = asyncio.run_coroutine_threadsafe(sidecar.stop(grace), loop)
            try:
                future.result(timeout)
            except Exception:
                logger.warning("sidecar did not stop cleanly within %.1fs", timeout, exc_info=True)
            finally:
                loop.call_soon_threadsafe(loop.stop)
                thread.join(timeout)

    def reset(self) -> None:
        """Delete all instances, histories and queued work; workers stay connected."""
        self._on_loop(lambda host: host.reset(), None)

    def idle_state(self) -> IdleState:
        """Whether work is in progress, and the earliest pending timer (read on the loop).

        Returns:
            The state; quiet with no timer when the sidecar is not running.
        """
        return self._on_loop(lambda host: host.idle_state(), IdleState(True, None))

    def _on_loop(self, fn: Callable[[SidecarHost], T], stopped: T) -> T:
        """Run ``fn`` on the sidecar's loop and return its result (``stopped`` if not running)."""
        with self._lock:
            sidecar, loop = self._host, self._loop
        if sidecar is None or loop is None:
            return stopped

        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def _run() -> None:
            try:
                done.set_result(fn(sidecar))
            except Exception as exc:
                done.set_exception(exc)

        loop.call_soon_threadsafe(_run)
        return done.result(_STOP_MARGIN_SECONDS)

    def __enter__(self) -> EmbeddedSidecar:
        """Start the sidecar."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the sidecar."""
        self.stop()


def _run_loop(
    loop: asyncio.AbstractEventLoop,
    sidecar: SidecarHost,
    started: concurrent.futures.Future[str],
) -> None:
    asyncio.set_event_loop(loop)
    try:
        started.set_result(loop.run_until_complete(sidecar.start()))
    except Exception as exc:
        started.set_exception(exc)
        loop.close()
        return
    try:
        loop.run_forever()
    finally:
        _cancel_remaining(loop)
        loop.close()


def _cancel_remaining(loop: asyncio.AbstractEventLoop) -> None:
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
