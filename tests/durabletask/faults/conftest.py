"""Fault fixtures: an embedded sidecar that pings every 0.5 s, restartable on its port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from durabletask.grpc_options import (
    GrpcChannelOptions,
    GrpcClientResiliencyOptions,
    GrpcWorkerResiliencyOptions,
)
from durabletask.sidecar.hosting import EmbeddedSidecar

# The FAST profile of the resiliency spec (§1.3).
FAST_WORKER = GrpcWorkerResiliencyOptions(
    hello_timeout_seconds=1.0, silent_disconnect_timeout_seconds=2.0,
    channel_recreate_failure_threshold=3, reconnect_backoff_base_seconds=0.1,
    reconnect_backoff_cap_seconds=1.0, stop_timeout_seconds=3.0, abandon_timeout_seconds=1.0,
    retired_channel_max_linger_seconds=5.0,
)
FAST_CLIENT = GrpcClientResiliencyOptions(
    channel_recreate_failure_threshold=3, min_recreate_interval_seconds=2.0,
    retired_channel_linger_seconds=3.0, retired_channel_max_linger_seconds=6.0,
    default_call_timeout_seconds=1.0,
)
# gRPC's own reconnect backoff must stay below ours (R-B6).
FAST_CHANNEL = GrpcChannelOptions(reconnect_backoff_max_ms=1000)


class RestartableSidecar:
    """An embedded sidecar (health pings every 0.5 s) that can be restarted on its port."""

    def __init__(self) -> None:
        self._sidecar = self._new(0)
        self.port = self._sidecar.port
        self.address = f"127.0.0.1:{self.port}"

    @staticmethod
    def _new(port: int) -> EmbeddedSidecar:
        sidecar = EmbeddedSidecar("127.0.0.1", port, health_ping_interval_seconds=0.5)
        sidecar.start()
        return sidecar

    def stop(self) -> None:
        self._sidecar.stop()

    def start(self) -> None:
        self._sidecar = self._new(self.port)


@pytest.fixture
def pinging_sidecar() -> Iterator[RestartableSidecar]:
    sidecar = RestartableSidecar()
    try:
        yield sidecar
    finally:
        sidecar.stop()
