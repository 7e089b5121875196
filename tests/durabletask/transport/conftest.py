"""Fixtures of the transport tests: a scripted real gRPC server and an event recorder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.durabletask.transport.fake_sidecar import FakeSidecar
from tests.durabletask.transport.recorder import EventRecorder, recording


@pytest.fixture
def fake() -> Iterator[FakeSidecar]:
    server = FakeSidecar()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def events(fake: FakeSidecar) -> Iterator[EventRecorder]:
    with recording(fake.address) as recorder:
        yield recorder
