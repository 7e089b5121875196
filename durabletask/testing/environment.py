"""``TimeSkippingEnvironment``: sidecar, worker and clients in-process, on a virtual clock.

Durable time (timers, retry backoffs, scheduled starts, delayed entity signals) runs on a
:class:`~durabletask.testing.clock.VirtualClock` that flows with the real clock and jumps
ahead whenever the environment is idle, so an orchestration that sleeps 30 days completes
in well under a second. Activities, orchestrator code and gRPC calls run for real.

**Idle**, the condition for a jump, is all of:

1. the sidecar has no work queued, assigned or leased to the worker (a running activity
   thread or orchestrator episode holds a lease until its completion is committed), and no
   completion waits for its commit;
2. no call of the environment's own clients is in flight (long polls such as
   ``wait_for_orchestration_completion`` excepted: they wait *for* time to pass);
3. nothing touched the virtual clock for ``settle_seconds`` of real time (every work item
   the sidecar sends re-arms a clock timer, so a busy sidecar never looks quiet), and no
   fired timer callback is still running.

A jump goes to the sidecar's next due timer, exactly: the orchestration then sees exactly
the time it asked for pass (plus the few milliseconds real work takes). Other clock waits
(health pings, backoffs) never cause a jump; those a jump passes fire once.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any

import grpc
import grpc.aio

from durabletask.testing.clock import VirtualClock

if TYPE_CHECKING:
    from durabletask.client import AsyncTaskHubGrpcClient, TaskHubGrpcClient
    from durabletask.sidecar.hosting import EmbeddedSidecar
    from durabletask.worker import TaskHubGrpcWorker

__all__ = ["TimeSkippingEnvironment"]

# Calls that wait for the orchestration to progress: in flight, they must not block jumps.
_LONG_POLLS = ("/WaitForInstanceStart", "/WaitForInstanceCompletion")


class _Holds:
    """Counts the environment clients' calls in flight."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def take(self, method: str) -> bool:
        if method.endswith(_LONG_POLLS):
            return False
        with self._lock:
            self.count += 1
        return True

    def release(self, *_: object) -> None:
        with self._lock:
            self.count -= 1


class _SyncHold(grpc.UnaryUnaryClientInterceptor):
    """Holds the environment busy while a sync client's unary call is in flight."""

    def __init__(self, holds: _Holds) -> None:
        self._holds = holds

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        if not self._holds.take(details.method):
            return continuation(details, request)
        try:
            outcome = continuation(details, request)
        except BaseException:
            self._holds.release()
            raise
        outcome.add_done_callback(self._holds.release)
        return outcome


class _AsyncHold(grpc.aio.UnaryUnaryClientInterceptor):
    """Holds the environment busy while an async client's unary call is in flight."""

    def __init__(self, holds: _Holds) -> None:
        self._holds = holds

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        method = details.method.decode() if isinstance(details.method, bytes) else details.method
        if not self._holds.take(method):
            return await continuation(details, request)
        try:
            call = await continuation(details, request)
        except BaseException:
            self._holds.release()
            raise
        call.add_done_callback(self._holds.release)
        return call


class TimeSkippingEnvironment:
    """An embedded sidecar, a worker and clients in one process, on a virtual clock.

    Example:
        >>> with TimeSkippingEnvironment(orchestrators=[monthly]) as env:
        ...     iid = env.client.schedule_new_orchestration(monthly)
        ...     state = env.client.wait_for_orchestration_completion(iid, timeout=10)

    Register functions through the constructor or the ``add_*`` methods before
    :meth:`start`. Use :attr:`client` (sync) or :meth:`async_client`: calls of clients
    created elsewhere are not seen by the idle condition (see the module docstring).
    """

    def __init__(
        self,
        *,
        orchestrators: Iterable[Callable[..., Any]] = (),
        activities: Iterable[Callable[..., Any]] = (),
        entities: Iterable[Any] = (),
        auto_skip: bool = True,
        start: datetime | None = None,
        store: Any = None,
        settle_seconds: float = 0.05,
        worker_options: Mapping[str, Any] | None = None,
        sidecar_options: Mapping[str, Any] | None = None,
    ) -> None:
        """Configure the environment; nothing runs until :meth:`start`.

        Args:
            orchestrators: Orchestrator functions to register.
            activities: Activity functions to register.
            entities: Entity functions or ``DurableEntity`` classes to register.
            auto_skip: Jump to the next timer whenever the environment is idle; with False
                time only flows at the real rate and jumps by :meth:`skip`.
            start: The virtual time at start; the real current time when None.
            store: The sidecar's store (a fresh ``MemoryStore`` when None).
            settle_seconds: Real seconds the clock must stay untouched before a jump.
            worker_options: Extra keyword arguments of ``TaskHubGrpcWorker``.
            sidecar_options: Extra keyword arguments of ``EmbeddedSidecar``.
        """
        self.clock = VirtualClock(start, rate=1.0)
        """The virtual clock the sidecar and the worker run on."""
        self._registrations: list[tuple[str, Any, str | None]] = [
            *(("orchestrator", fn, None) for fn in orchestrators),
            *(("activity", fn, None) for fn in activities),
            *(("entity", entity, None) for entity in entities),
        ]
        self._auto_skip = auto_skip
        self._store = store
        self._settle = settle_seconds
        self._worker_options = dict(worker_options or {})
        self._sidecar_options = dict(sidecar_options or {})
        self._holds = _Holds()
        self._jump_lock = threading.RLock()
        self._stop = threading.Event()
        self._driver: threading.Thread | None = None
        self._sidecar: EmbeddedSidecar | None = None
        self._worker: TaskHubGrpcWorker | None = None
        self._client: TaskHubGrpcClient | None = None
        self.jumps = 0
        """How many times the clock jumped (auto-skip and :meth:`skip` together)."""

    # ----- registration and lifecycle ------------------------------------------------------

    def add_orchestrator(self, fn: Callable[..., Any]) -> None:
        """Register an orchestrator (before :meth:`start`)."""
        self._register("orchestrator", fn)

    def add_activity(self, fn: Callable[..., Any]) -> None:
        """Register an activity (before :meth:`start`)."""
        self._register("activity", fn)

    def add_entity(self, entity: Any, name: str | None = None) -> None:
        """Register an entity function or ``DurableEntity`` class (before :meth:`start`)."""
        self._register("entity", entity, name)

    def _register(self, kind: str, fn: Any, name: str | None = None) -> None:
        if self._worker is not None:
            raise RuntimeError(f"register every {kind} before start()")
        self._registrations.append((kind, fn, name))

    def start(self) -> TimeSkippingEnvironment:
        """Start the sidecar, the worker and the sync client (and the auto-skip)."""
        from durabletask.client import TaskHubGrpcClient
        from durabletask.grpc_options import GrpcWorkerResiliencyOptions
        from durabletask.sidecar.hosting import EmbeddedSidecar
        from durabletask.worker import TaskHubGrpcWorker

        if self._sidecar is not None:
            return self
        if self._stop.is_set():
            raise RuntimeError("a stopped environment cannot start again; create a new one")
        sidecar = EmbeddedSidecar("127.0.0.1", 0, store=self._store, clock=self.clock,
                                  **self._sidecar_options)
        sidecar.start()
        self._sidecar = sidecar
        try:
            options: dict[str, Any] = {
                # In one process there is no silent network to detect, and a silence window
                # on a clock that jumps would expire with every jump.
                "resiliency_options": GrpcWorkerResiliencyOptions(
                    silent_disconnect_timeout_seconds=0),
                **self._worker_options,
            }
            worker = TaskHubGrpcWorker(host_address=sidecar.address, clock=self.clock, **options)
            for kind, fn, name in self._registrations:
                if kind == "orchestrator":
                    worker.add_orchestrator(fn)
                elif kind == "activity":
                    worker.add_activity(fn)
                else:
                    worker.add_entity(fn, name)
            worker.start()
            self._worker = worker
            self._client = TaskHubGrpcClient(host_address=sidecar.address,
                                             interceptors=[_SyncHold(self._holds)])
        except BaseException:
            self.stop()
            raise
        self._driver = threading.Thread(target=self._drive, name="durabletask-time-skipping",
                                        daemon=True)
        self._driver.start()
        return self

    def stop(self) -> None:
        """Stop everything started; safe to call twice."""
        self._stop.set()
        with self.clock._changed:  # wake the driver
            self.clock._changed.notify_all()
        if self._driver is not None:
            self._driver.join(5)
            self._driver = None
        client, self._client = self._client, None
        if client is not None:
            client.close()
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()
        sidecar, self._sidecar = self._sidecar, None
        if sidecar is not None:
            sidecar.stop()
        self.clock.close()

    def __enter__(self) -> TimeSkippingEnvironment:
        """Start the environment."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the environment."""
        self.stop()

    # ----- what tests use --------------------------------------------------------------------

    @property
    def address(self) -> str:
        """The sidecar's ``host:port``."""
        return self.sidecar.address

    @property
    def sidecar(self) -> EmbeddedSidecar:
        """The embedded sidecar, once started."""
        if self._sidecar is None:
            raise RuntimeError("the environment is not started; call start()")
        return self._sidecar

    @property
    def worker(self) -> TaskHubGrpcWorker:
        """The running worker, once started."""
        if self._worker is None:
            raise RuntimeError("the environment is not started; call start()")
        return self._worker

    @property
    def client(self) -> TaskHubGrpcClient:
        """The environment's sync client, once started; closed by :meth:`stop`."""
        if self._client is None:
            raise RuntimeError("the environment is not started; call start()")
        return self._client

    def async_client(self, **options: Any) -> AsyncTaskHubGrpcClient:
        """A new async client of the sidecar whose calls the idle condition sees.

        Close it on its loop (``async with env.async_client() as c:``).

        Args:
            **options: Further keyword arguments of ``AsyncTaskHubGrpcClient``.
        """
        from durabletask.client import AsyncTaskHubGrpcClient

        interceptors = [_AsyncHold(self._holds), *options.pop("interceptors", ())]
        return AsyncTaskHubGrpcClient(host_address=self.address, interceptors=interceptors,
                                      **options)

    def now(self) -> datetime:
        """The virtual UTC time (what orchestrations see as their clock)."""
        return self.clock.now()

    @property
    def auto_skip(self) -> bool:
        """Whether the clock jumps to the next timer whenever the environment is idle."""
        return self._auto_skip

    @auto_skip.setter
    def auto_skip(self, enabled: bool) -> None:
        with self._jump_lock:
            self._auto_skip = enabled

    def skip(self, delta: timedelta | float, *, idle_timeout: float = 10.0) -> None:
        """Let ``delta`` of virtual time pass, after what is running now has settled.

        Every timer due within ``delta`` fires in order, each once the environment is idle
        again, so a chain of timers (a retry after a retry) unfolds as it would in real time.

        Args:
            delta: How much time (a timedelta or seconds).
            idle_timeout: Real seconds to wait, each time, for the environment to be idle.

        Raises:
            TimeoutError: The environment stayed busy for ``timeout`` seconds.
        """
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        with self._jump_lock:
            target = self.clock.now() + step
            while True:
                due = self.wait_until_idle(idle_timeout)
                if due is None or due > target:
                    self.clock.advance_to(target)
                    self.jumps += 1
                    return
                self.clock.advance_to(due)
                self.jumps += 1

    async def skip_async(self, delta: timedelta | float, *, idle_timeout: float = 10.0) -> None:
        """Let ``delta`` pass, as :meth:`skip` does, from async code (runs it in a thread)."""
        await asyncio.to_thread(self.skip, delta, idle_timeout=idle_timeout)

    def wait_until_idle(self, timeout: float = 10.0) -> datetime | None:
        """Wait until the environment is idle (see the module docstring).

        Returns:
            The sidecar's next due timer, or None.

        Raises:
            TimeoutError: Still busy after ``timeout`` real seconds (the message says why).
        """
        give_up = time.monotonic() + timeout
        while True:
            remaining = give_up - time.monotonic()
            if self.clock.wait_quiet(self._settle, stop=self._stop, timeout=max(remaining, 0)):
                busy, due = self._busy()
                if busy is None:
                    return due
            else:
                busy = "the virtual clock's timers keep firing"
            if self._stop.is_set():
                raise RuntimeError("the environment was stopped")
            if time.monotonic() >= give_up:
                raise TimeoutError(f"the environment is still busy after {timeout}s: {busy}")

    def _busy(self) -> tuple[str | None, datetime | None]:
        """What keeps the environment busy (None when idle), and the sidecar's next timer."""
        if self._holds.count:
            return f"{self._holds.count} client call(s) in flight", None
        state = self.sidecar.idle_state()
        if not state.quiet:
            return "the sidecar has work queued or leased to the worker", state.next_due
        return None, state.next_due

    def _drive(self) -> None:
        """The auto-skip: whenever idle, jump to the sidecar's next timer."""
        clock = self.clock
        while clock.wait_quiet(self._settle, stop=self._stop):
            with self._jump_lock:
                if not self._auto_skip or self._stop.is_set():
                    continue
                busy, due = self._busy()
                if busy is None and due is not None and due > clock.now():
                    clock.advance_to(due)
                    self.jumps += 1
