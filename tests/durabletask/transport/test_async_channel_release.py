"""Closed async clients release their TCP connections at once, without the cyclic GC.

A ``grpc.aio`` interceptor that raises the error of the call it awaited stores that error
in grpc's interceptor task; its traceback holds the call, which holds the task, so the
channel (and its connection) outlived ``close()`` until ``gc.collect()``. The automatic
collector is switched off here, so only reference counting can free the channels.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator

import grpc
import pytest

from durabletask import client
from durabletask.errors import DurableTaskError
from durabletask.grpc_options import GrpcClientResiliencyOptions
from tests.durabletask.helpers.proxy import tcp_proxy
from tests.durabletask.helpers.wait import async_poll_until
from tests.durabletask.transport.fake_sidecar import FakeSidecar
from tests.durabletask.transport.recorder import recording

U = grpc.StatusCode.UNAVAILABLE
# Every failure recreates the channel at once, so each cycle leaves a retired channel.
FORCED = GrpcClientResiliencyOptions(channel_recreate_failure_threshold=1,
                                     min_recreate_interval_seconds=0.0)


@pytest.fixture
def _no_cyclic_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def _fail_once(c: client.AsyncTaskHubGrpcClient, fake: FakeSidecar) -> None:
    # A read is tried three times on UNAVAILABLE before the caller sees the error.
    fake.script.extend([U, U, U])
    with pytest.raises((grpc.RpcError, DurableTaskError)):
        await c.get_orchestration_state("missing")


@pytest.mark.slow
@pytest.mark.usefixtures("_no_cyclic_gc")
async def test_async_client_with_failed_calls_closes_every_connection_without_gc(
    fake: FakeSidecar,
):
    with tcp_proxy(fake.port) as proxy, recording(proxy.address) as events:
        warmup = client.AsyncTaskHubGrpcClient(host_address=proxy.address)
        assert await warmup.get_orchestration_state("missing") is None
        await warmup.close()
        await async_poll_until(lambda: proxy.live == 0, timeout=5,
                               message="the warm-up connection to close")
        baseline = _fds()
        c = client.AsyncTaskHubGrpcClient(host_address=proxy.address, resiliency_options=FORCED)
        for _ in range(6):
            await _fail_once(c, fake)
            assert await c.get_orchestration_state("missing") is None
        assert events.count("channel_recreated", "async_client") >= 6
        await c.close()
        await async_poll_until(lambda: proxy.live == 0, timeout=5,
                               message=f"connections to close ({proxy.live} open)")
        await async_poll_until(lambda: _fds() <= baseline + 2, timeout=5,
                               message=f"fds back to baseline {baseline}, now {_fds()}")
