"""Client faults on real sockets: sidecar restart mid-wait, blackholed connection."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import grpc
import pytest

from durabletask import client
from durabletask.errors import SidecarUnavailableError
from tests.durabletask.faults.conftest import FAST_CHANNEL, FAST_CLIENT, RestartableSidecar
from tests.durabletask.helpers.proxy import TcpProxy, tcp_proxy
from tests.durabletask.helpers.wait import async_poll_until, poll_until
from tests.durabletask.transport.recorder import recording

pytestmark = pytest.mark.slow


@pytest.fixture
def proxy(pinging_sidecar: RestartableSidecar) -> Iterator[TcpProxy]:
    with tcp_proxy(pinging_sidecar.port) as running:
        yield running


def test_wait_for_completion_across_a_sidecar_restart_never_raises_unavailable_early(
    pinging_sidecar: RestartableSidecar,
):
    outcome: list[object] = []
    with recording(pinging_sidecar.address) as events, client.TaskHubGrpcClient(
        host_address=pinging_sidecar.address, channel_options=FAST_CHANNEL,
        resiliency_options=FAST_CLIENT,
    ) as c:
        instance_id = c.schedule_new_orchestration("never-registered")

        def wait() -> None:
            try:
                outcome.append(c.wait_for_orchestration_completion(instance_id, timeout=3))
            except Exception as exc:  # the assertion below names what came out
                outcome.append(exc)

        waiter = threading.Thread(target=wait)
        waiter.start()
        pinging_sidecar.stop()
        pinging_sidecar.start()
        waiter.join(10)
    assert len(outcome) == 1
    result = outcome[0]
    assert not isinstance(result, SidecarUnavailableError), result
    if isinstance(result, TimeoutError):
        # It kept asking through the outage, and gave up at its 3 s deadline, not earlier:
        # the long poll's timeout is only ever turned into a TimeoutError at the deadline.
        assert events.count("call_retry", "client") >= 1
        assert "timed out after 3 seconds" in str(result)
    else:
        # The restarted (in-memory) sidecar no longer knows the instance.
        assert result is None or isinstance(result, client.OrchestrationState), result


def test_client_recreates_after_a_blackholed_connection_and_next_call_succeeds(
    proxy: TcpProxy,
):
    with recording(proxy.address) as events, client.TaskHubGrpcClient(
        host_address=proxy.address, channel_options=FAST_CHANNEL, resiliency_options=FAST_CLIENT,
    ) as c:
        assert c.get_orchestration_state("missing") is None
        connections = proxy.accepted
        proxy.blackhole_existing()
        for _ in range(3):
            with pytest.raises(grpc.RpcError) as info:
                c.get_orchestration_state("missing")
            # Ended by its one default deadline (1 s): a blackholed call never answers.
            assert info.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
        assert events.count("call_retry", "client") == 0  # a deadline is not retried
        # The recreation runs off the caller's path (R-C1): the next call may only count on
        # the new channel once it is published.
        poll_until(lambda: events.count("channel_recreated", "client") == 1, timeout=5,
                   message="the channel recreation")
        assert c.get_orchestration_state("missing") is None
        assert events.count("channel_recreated", "client") == 1
        assert proxy.accepted > connections


async def test_async_client_recreates_after_a_blackholed_connection(proxy: TcpProxy):
    with recording(proxy.address) as events:
        async with client.AsyncTaskHubGrpcClient(
            host_address=proxy.address, channel_options=FAST_CHANNEL,
            resiliency_options=FAST_CLIENT,
        ) as c:
            assert await c.get_orchestration_state("missing") is None
            proxy.blackhole_existing()
            for _ in range(3):
                with pytest.raises(grpc.RpcError):
                    await c.get_orchestration_state("missing")
            await async_poll_until(
                lambda: events.count("channel_recreated", "async_client") == 1, timeout=5,
                message="the channel recreation")
            assert await c.get_orchestration_state("missing") is None
    assert events.count("channel_recreated", "async_client") == 1
    assert events.count("channel_closed", "async_client") == 2


def test_caller_owned_channel_survives_a_sidecar_restart_untouched(
    pinging_sidecar: RestartableSidecar,
):
    channel = grpc.insecure_channel(pinging_sidecar.address)
    try:
        with recording() as events:
            c = client.TaskHubGrpcClient(channel=channel, resiliency_options=FAST_CLIENT)
            assert c.get_orchestration_state("x") is None
            pinging_sidecar.stop()
            for _ in range(4):
                with pytest.raises(SidecarUnavailableError):
                    c.get_orchestration_state("x")
            pinging_sidecar.start()
            c.close()
            assert events.count("channel_recreated") == 0
            assert events.count("channel_closed") == 0
        # Still open and usable: the SDK neither replaced nor closed it.
        again = client.TaskHubGrpcClient(channel=channel)
        deadline = time.monotonic() + 5
        while True:
            try:
                assert again.get_orchestration_state("x") is None
                break
            except SidecarUnavailableError:
                if time.monotonic() > deadline:
                    raise
    finally:
        channel.close()
