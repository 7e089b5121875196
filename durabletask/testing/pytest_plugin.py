"""pytest fixtures for testing orchestrations, activities and entities (plugin ``durabletask``).

Installed with the package (entry point ``pytest11``), so the fixtures are available in any
test suite without a ``conftest.py``. Every fixture starts real components: the embedded
sidecar on 127.0.0.1 with a free port, over real gRPC.

* ``durabletask_sidecar``: a fresh in-memory sidecar per test.
* ``durabletask_sqlite_sidecar``: a fresh sidecar over an SQLite file in ``tmp_path``.
* ``durabletask_shared_sidecar``: one in-memory sidecar per session, emptied before each test
  that uses it (faster when many tests need one); ``durabletask_session_sidecar`` is the
  same sidecar without the emptying.
* ``durabletask_client`` / ``durabletask_async_client``: clients of ``durabletask_sidecar``.
* ``durabletask_worker``: a factory that starts a worker with the given functions registered
  on ``durabletask_sidecar``; every worker it started is stopped after the test.
* ``durabletask_time_skipping``: a factory that starts a ``TimeSkippingEnvironment`` (its own
  sidecar, worker and client on a virtual clock that jumps over timers) with the given
  functions registered; every environment it started is stopped after the test.

The ``durabletask_backend`` fixture says which sidecar the client, async client and worker
fixtures use; override it in a ``conftest.py`` (e.g. return ``durabletask_sqlite_sidecar``)
to move a whole suite to another one. Imports happen inside the fixtures, so loading the
plugin costs nothing for suites that do not use it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from durabletask.client import AsyncTaskHubGrpcClient, TaskHubGrpcClient
    from durabletask.sidecar.hosting import EmbeddedSidecar
    from durabletask.testing.environment import TimeSkippingEnvironment
    from durabletask.worker import TaskHubGrpcWorker

__all__ = [
    "TimeSkippingFactory",
    "WorkerFactory",
    "durabletask_async_client",
    "durabletask_backend",
    "durabletask_client",
    "durabletask_session_sidecar",
    "durabletask_shared_sidecar",
    "durabletask_sidecar",
    "durabletask_sqlite_sidecar",
    "durabletask_time_skipping",
    "durabletask_worker",
]


def _started(store: Any = None) -> EmbeddedSidecar:
    from durabletask.sidecar.hosting import EmbeddedSidecar

    sidecar = EmbeddedSidecar("127.0.0.1", 0, store=store)
    sidecar.start()
    return sidecar


@pytest.fixture
def durabletask_sidecar() -> Iterator[EmbeddedSidecar]:
    """A started in-memory sidecar on 127.0.0.1 (free port), stopped after the test."""
    sidecar = _started()
    try:
        yield sidecar
    finally:
        sidecar.stop()


@pytest.fixture
def durabletask_sqlite_sidecar(tmp_path: Path) -> Iterator[EmbeddedSidecar]:
    """A started sidecar over ``tmp_path/durabletask.db`` (SQLite), stopped after the test."""
    from durabletask.sidecar.store.sqlite import SqliteStore

    sidecar = _started(SqliteStore(tmp_path / "durabletask.db"))
    try:
        yield sidecar
    finally:
        sidecar.stop()


@pytest.fixture(scope="session")
def durabletask_session_sidecar() -> Iterator[EmbeddedSidecar]:
    """One in-memory sidecar for the whole session, never emptied (see the shared one)."""
    sidecar = _started()
    try:
        yield sidecar
    finally:
        sidecar.stop()


@pytest.fixture
def durabletask_shared_sidecar(
    durabletask_session_sidecar: EmbeddedSidecar,
) -> EmbeddedSidecar:
    """The session's in-memory sidecar, emptied (``reset()``) before this test."""
    durabletask_session_sidecar.reset()
    return durabletask_session_sidecar


@pytest.fixture
def durabletask_backend(durabletask_sidecar: EmbeddedSidecar) -> EmbeddedSidecar:
    """The sidecar the client and worker fixtures connect to; override to choose another."""
    return durabletask_sidecar


@pytest.fixture
def durabletask_client(durabletask_backend: EmbeddedSidecar) -> Iterator[TaskHubGrpcClient]:
    """A sync client of ``durabletask_backend``, closed after the test."""
    from durabletask.client import TaskHubGrpcClient

    with TaskHubGrpcClient(host_address=durabletask_backend.address) as c:
        yield c


try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - exercised only without pytest-asyncio

    @pytest.fixture
    def durabletask_async_client(durabletask_backend: EmbeddedSidecar) -> Any:  # noqa: PT004
        """An async client of ``durabletask_backend``: needs pytest-asyncio."""
        pytest.skip("durabletask_async_client needs pytest-asyncio (pip install pytest-asyncio)")

else:

    @pytest_asyncio.fixture
    async def durabletask_async_client(  # type: ignore[misc]  # one per import branch
        durabletask_backend: EmbeddedSidecar,
    ) -> AsyncIterator[AsyncTaskHubGrpcClient]:
        """An async client of ``durabletask_backend``, closed after the test."""
        from durabletask.client import AsyncTaskHubGrpcClient

        c = AsyncTaskHubGrpcClient(host_address=durabletask_backend.address)
        yield c
        await c.close()  # a failing test does not skip this: pytest finishes the generator


class WorkerFactory:
    """Starts workers on one sidecar with the given functions registered; stops them all."""

    def __init__(self, address: str) -> None:
        """Workers connect to ``address``."""
        self.address = address
        self._started: list[TaskHubGrpcWorker] = []

    def __call__(
        self,
        orchestrators: Iterable[Callable[..., Any]] = (),
        activities: Iterable[Callable[..., Any]] = (),
        entities: Iterable[Any] = (),
        **worker_options: Any,
    ) -> TaskHubGrpcWorker:
        """Register the functions on a new worker, start it and return it.

        Args:
            orchestrators: Orchestrator functions.
            activities: Activity functions.
            entities: Entity functions or ``DurableEntity`` classes.
            **worker_options: Keyword arguments of ``TaskHubGrpcWorker`` (e.g.
                ``concurrency_options``); ``host_address`` is the sidecar's.
        """
        from durabletask.worker import TaskHubGrpcWorker

        w = TaskHubGrpcWorker(host_address=self.address, **worker_options)
        for fn in orchestrators:
            w.add_orchestrator(fn)
        for fn in activities:
            w.add_activity(fn)
        for entity in entities:
            w.add_entity(entity)
        self._started.append(w)
        w.start()
        return w

    def stop_all(self) -> None:
        """Stop every worker this factory started, newest first."""
        while self._started:
            self._started.pop().stop()


@pytest.fixture
def durabletask_worker(durabletask_backend: EmbeddedSidecar) -> Iterator[WorkerFactory]:
    """Start workers with functions registered: a ``WorkerFactory``, called with lists."""
    factory = WorkerFactory(durabletask_backend.address)
    try:
        yield factory
    finally:
        factory.stop_all()


class TimeSkippingFactory:
    """Starts time-skipping environments with the given functions registered; stops them all."""

    def __init__(self) -> None:
        """Start with no environment."""
        self._started: list[TimeSkippingEnvironment] = []

    def __call__(
        self,
        orchestrators: Iterable[Callable[..., Any]] = (),
        activities: Iterable[Callable[..., Any]] = (),
        entities: Iterable[Any] = (),
        **options: Any,
    ) -> TimeSkippingEnvironment:
        """Register the functions on a new environment, start it and return it.

        Args:
            orchestrators: Orchestrator functions.
            activities: Activity functions.
            entities: Entity functions or ``DurableEntity`` classes.
            **options: Keyword arguments of ``TimeSkippingEnvironment`` (e.g.
                ``auto_skip=False``, ``start=``, ``worker_options=``).
        """
        from durabletask.testing.environment import TimeSkippingEnvironment

        env = TimeSkippingEnvironment(orchestrators=orchestrators, activities=activities,
                                      entities=entities, **options)
        self._started.append(env)
        return env.start()

    def stop_all(self) -> None:
        """Stop every environment this factory started, newest first."""
        while self._started:
            self._started.pop().stop()


@pytest.fixture
def durabletask_time_skipping() -> Iterator[TimeSkippingFactory]:
    """Start time-skipping environments: a ``TimeSkippingFactory``, called with lists."""
    factory = TimeSkippingFactory()
    try:
        yield factory
    finally:
        factory.stop_all()
