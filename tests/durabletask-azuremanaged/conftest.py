"""Fixtures for the Durable Task Scheduler provider: fake credentials and a hub sidecar.

This directory has no ``__init__.py`` (its name has a dash), so pytest imports the test
files by base name: keep them prefixed ``test_dts_``.
"""

from __future__ import annotations

import asyncio
import collections
import threading
from collections.abc import Callable, Iterator

import pytest

from durabletask.sidecar import EmbeddedSidecar
from durabletask.grpc_options import GrpcWorkerResiliencyOptions
from tests.durabletask.conftest import FAST_WORKER_RESILIENCY

AccessToken = collections.namedtuple("AccessToken", ["token", "expires_on"])
"""Shaped like ``azure.core.credentials.AccessToken``."""


class FakeCredential:
    """A synchronous TokenCredential: numbered tokens valid ``lifetime`` s from ``clock()``.

    ``gate``, when set, makes ``get_token`` wait (bounded) until the gate opens, so tests
    can hold a refresh in flight.
    """

    def __init__(self, clock: Callable[[], float], lifetime: float = 3600.0) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.scopes: list[tuple[str, ...]] = []
        self.fail_with: Exception | None = None
        self.gate: threading.Event | None = None
        self.entered = threading.Event()
        self._lock = threading.Lock()

    @property
    def calls(self) -> int:
        return len(self.scopes)

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        with self._lock:
            self.scopes.append(scopes)
            number = len(self.scopes)
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(10.0), "test never opened the credential gate"
        if self.fail_with is not None:
            raise self.fail_with
        return AccessToken(f"tok-{number}", int(self.clock() + self.lifetime))


class FakeAsyncCredential:
    """An AsyncTokenCredential twin of :class:`FakeCredential`."""

    def __init__(self, clock: Callable[[], float], lifetime: float = 3600.0) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.scopes: list[tuple[str, ...]] = []
        self.gate: asyncio.Event | None = None

    @property
    def calls(self) -> int:
        return len(self.scopes)

    async def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        self.scopes.append(scopes)
        number = len(self.scopes)
        if self.gate is not None:
            await asyncio.wait_for(self.gate.wait(), 10.0)
        return AccessToken(f"atok-{number}", int(self.clock() + self.lifetime))


class ManualClock:
    """Seconds since the epoch, moved by the test."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def worker_resiliency() -> GrpcWorkerResiliencyOptions:
    """Short reconnect backoff, so tests that restart things stay fast."""
    return FAST_WORKER_RESILIENCY


@pytest.fixture
def clock() -> ManualClock:
    """A clock the test moves."""
    return ManualClock()


@pytest.fixture
def credential(clock: ManualClock) -> FakeCredential:
    """A fake synchronous credential on the test's clock."""
    return FakeCredential(clock)


@pytest.fixture
def async_credential(clock: ManualClock) -> FakeAsyncCredential:
    """A fake asynchronous credential on the test's clock."""
    return FakeAsyncCredential(clock)


@pytest.fixture
def hub_sidecar() -> Iterator[EmbeddedSidecar]:
    """A sidecar with task hubs ``a`` and ``b`` that requires a bearer token."""
    sidecar = EmbeddedSidecar(port=0, taskhubs=("a", "b"), require_token=True)
    sidecar.start()
    try:
        yield sidecar
    finally:
        sidecar.stop()


@pytest.fixture
def hub_address(hub_sidecar: EmbeddedSidecar) -> str:
    """The hub sidecar's plaintext address, ``http://127.0.0.1:<port>``."""
    return f"http://{hub_sidecar.address}"
