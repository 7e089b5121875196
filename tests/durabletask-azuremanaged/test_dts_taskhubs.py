"""End to end: scheduler clients and worker against the embedded sidecar with task hubs."""

from __future__ import annotations

import time

import grpc
import grpc.aio
import pytest

from durabletask import client, task
from durabletask.azuremanaged.client import (
    AsyncDurableTaskSchedulerClient,
    DurableTaskSchedulerClient,
)
from durabletask.azuremanaged.worker import DurableTaskSchedulerWorker
from durabletask.errors import DurableTaskError
from durabletask.sidecar import EmbeddedSidecar


@pytest.fixture
def clock():
    """Real time: the SDK's token managers use the system clock here."""
    return time.time


def greet(ctx: task.ActivityContext, name: str) -> str:
    return f"Hello, {name}!"


def hello(ctx: task.OrchestrationContext, name: str):
    return (yield ctx.call_activity(greet, input=name))


def dts_client(address: str, taskhub: str, credential, **kwargs) -> DurableTaskSchedulerClient:
    return DurableTaskSchedulerClient(
        host_address=address, taskhub=taskhub, token_credential=credential,
        secure_channel=False, **kwargs,
    )


@pytest.fixture
def hub_a_worker(hub_address, credential, worker_resiliency):
    worker = DurableTaskSchedulerWorker(
        host_address=hub_address, taskhub="a", token_credential=credential,
        secure_channel=False, resiliency_options=worker_resiliency,
    )
    worker.add_orchestrator(hello)
    worker.add_activity(greet)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def test_scheduler_worker_runs_orchestration_only_in_its_hub(
    hub_address, credential, hub_a_worker
):
    with dts_client(hub_address, "a", credential) as hub_a, \
            dts_client(hub_address, "b", credential) as hub_b:
        instance_id = hub_a.schedule_new_orchestration(hello, input="DTS")
        state = hub_a.wait_for_orchestration_completion(instance_id, timeout=15)
        other_id = hub_b.schedule_new_orchestration(hello, input="nobody")

        assert state is not None
        assert state.runtime_status == client.OrchestrationStatus.COMPLETED
        assert state.get_output() == "Hello, DTS!"
        assert hub_b.get_orchestration_state(instance_id) is None
        assert hub_a.get_orchestration_state(other_id) is None
        pending = hub_b.get_orchestration_state(other_id)
        assert pending is not None
        assert pending.runtime_status == client.OrchestrationStatus.PENDING
    assert credential.calls == 3  # one fetch per client and worker, reused for every call
    assert hub_a_worker.maximum_timer_interval is None


def test_scheduler_client_without_token_gets_unauthenticated(hub_address):
    with dts_client(hub_address, "a", None) as anonymous:
        with pytest.raises(DurableTaskError) as caught:
            anonymous.schedule_new_orchestration("hello", input="x")

    error = caught.value
    assert isinstance(error, grpc.RpcError)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "authorization: Bearer" in str(error)


def test_scheduler_client_on_unknown_hub_gets_not_found_naming_it(hub_address, credential):
    with dts_client(hub_address, "zzz", credential) as lost:
        with pytest.raises(grpc.RpcError) as caught:
            lost.get_orchestration_state("any")

    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert "'zzz'" in caught.value.details()
    assert "'a', 'b'" in caught.value.details()


def test_plain_client_without_taskhub_header_is_told_to_set_it(hub_sidecar):
    with client.TaskHubGrpcClient(
        host_address=hub_sidecar.address, metadata=[("authorization", "Bearer t")]
    ) as plain:
        with pytest.raises(grpc.RpcError) as caught:
            plain.get_orchestration_state("any")

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "'taskhub' metadata header" in caught.value.details()


def test_sidecar_with_token_value_rejects_other_tokens(credential):
    with EmbeddedSidecar(port=0, require_token="tok-2") as sidecar:
        address = f"http://{sidecar.address}"
        with dts_client(address, "any", credential) as first:
            with pytest.raises(grpc.RpcError) as caught:
                first.get_orchestration_state("x")  # sends tok-1
        with dts_client(address, "any", credential) as second:
            assert second.get_orchestration_state("x") is None  # sends tok-2

    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "not accepted" in caught.value.details()


def test_default_hub_accepts_any_taskhub_header(credential):
    with EmbeddedSidecar(port=0) as sidecar:
        with client.TaskHubGrpcClient(host_address=sidecar.address) as plain, \
                dts_client(f"http://{sidecar.address}", "whatever", None) as scheduler:
            instance_id = plain.schedule_new_orchestration("hello")
            state = scheduler.get_orchestration_state(instance_id)

    assert state is not None
    assert state.instance_id == instance_id


async def test_async_scheduler_client_sees_its_hub(hub_address, async_credential, credential):
    with dts_client(hub_address, "a", credential) as sync_a:
        instance_id = sync_a.schedule_new_orchestration("hello", input="x")

    async with AsyncDurableTaskSchedulerClient(
        host_address=hub_address, taskhub="a", token_credential=async_credential,
        secure_channel=False,
    ) as async_a, AsyncDurableTaskSchedulerClient(
        host_address=hub_address, taskhub="b", token_credential=async_credential,
        secure_channel=False,
    ) as async_b:
        state = await async_a.get_orchestration_state(instance_id)
        missing = await async_b.get_orchestration_state(instance_id)

    assert state is not None
    assert state.runtime_status == client.OrchestrationStatus.PENDING
    assert missing is None
    assert async_credential.calls == 2


async def test_async_scheduler_client_accepts_sync_credential(hub_address, credential):
    async with AsyncDurableTaskSchedulerClient(
        host_address=hub_address, taskhub="a", token_credential=credential,
        secure_channel=False,
    ) as async_a:
        assert await async_a.get_orchestration_state("nothing") is None
        assert await async_a.get_orchestration_state("nothing") is None

    assert credential.calls == 1


class _AddsMetadata(grpc.UnaryUnaryClientInterceptor):
    """A user interceptor passing the SAME metadata list object on every call."""

    def __init__(self) -> None:
        self.shared = [("x-custom", "1")]

    def intercept_unary_unary(self, continuation, client_call_details, request):
        return continuation(client_call_details._replace(metadata=self.shared), request)


def test_scheduler_client_never_mutates_user_lists(hub_address, credential):
    user = _AddsMetadata()
    interceptors = [user]

    with dts_client(hub_address, "a", credential, interceptors=interceptors) as hub_a:
        instance_id = hub_a.schedule_new_orchestration("hello")
        assert hub_a.get_orchestration_state(instance_id) is not None

    assert interceptors == [user]
    assert user.shared == [("x-custom", "1")]


@pytest.mark.parametrize("taskhub", ["", "   "])
def test_scheduler_types_reject_empty_taskhub(taskhub):
    common = {"host_address": "http://127.0.0.1:1", "taskhub": taskhub, "token_credential": None}
    with pytest.raises(ValueError, match="taskhub"):
        DurableTaskSchedulerClient(**common)
    with pytest.raises(ValueError, match="taskhub"):
        AsyncDurableTaskSchedulerClient(**common)
    with pytest.raises(ValueError, match="taskhub"):
        DurableTaskSchedulerWorker(**common)


def test_sync_scheduler_client_rejects_async_credential(async_credential):
    with pytest.raises(TypeError, match="AsyncDurableTaskSchedulerClient"):
        DurableTaskSchedulerClient(
            host_address="http://127.0.0.1:1", taskhub="a", token_credential=async_credential
        )


def test_scheduler_client_surfaces_credential_failure_as_sdk_error(hub_address, credential):
    credential.fail_with = OSError("identity endpoint unreachable")

    with dts_client(hub_address, "a", credential) as hub_a:
        with pytest.raises(DurableTaskError, match="identity endpoint unreachable") as caught:
            hub_a.get_orchestration_state("x")

    assert type(caught.value).__name__ == "AccessTokenError"
