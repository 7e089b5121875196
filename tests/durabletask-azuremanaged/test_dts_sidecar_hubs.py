"""The embedded sidecar's task hubs and token check, through raw gRPC stubs."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import empty_pb2

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from durabletask.sidecar import EmbeddedSidecar, MemoryStore, SidecarOptions
from durabletask.sidecar.hubs import hub_store_path

TOKEN = ("authorization", "Bearer t")


@pytest.fixture
def stub(hub_sidecar) -> Iterator[pb_grpc.TaskHubSidecarServiceStub]:
    with grpc.insecure_channel(hub_sidecar.address) as channel:
        yield pb_grpc.TaskHubSidecarServiceStub(channel)


def test_hub_sidecar_refuses_work_item_stream_for_unknown_hub(stub):
    stream = stub.GetWorkItems(
        pb.GetWorkItemsRequest(), metadata=[TOKEN, ("taskhub", "nope")], timeout=5
    )
    with pytest.raises(grpc.RpcError) as caught:
        next(stream)

    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert "task hub 'nope' not found" in caught.value.details()


def test_hub_sidecar_refuses_history_stream_without_token(stub):
    stream = stub.StreamInstanceHistory(
        pb.StreamInstanceHistoryRequest(instanceId="x"), metadata=[("taskhub", "a")], timeout=5
    )
    with pytest.raises(grpc.RpcError) as caught:
        next(stream)

    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("value", ["Basic abc", "Bearer ", "bearer"])
def test_hub_sidecar_refuses_malformed_authorization(stub, value):
    with pytest.raises(grpc.RpcError) as caught:
        stub.Hello(empty_pb2.Empty(), metadata=[
            ("authorization", value), ("taskhub", "a")], timeout=5)

    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_hub_sidecar_keeps_hubs_isolated_per_store():
    stores: dict[str, MemoryStore] = {}

    def factory(hub: str) -> MemoryStore:
        stores[hub] = MemoryStore()
        return stores[hub]

    with EmbeddedSidecar(port=0, taskhubs=("a", "b"), store_factory=factory) as sidecar, \
            grpc.insecure_channel(sidecar.address) as channel:
        stub = pb_grpc.TaskHubSidecarServiceStub(channel)
        stub.StartInstance(
            pb.CreateInstanceRequest(instanceId="same", name="o"), metadata=[("taskhub", "a")],
            timeout=5,
        )
        stub.StartInstance(
            pb.CreateInstanceRequest(instanceId="same", name="o"), metadata=[("taskhub", "b")],
            timeout=5,
        )
        in_a = stub.GetInstance(
            pb.GetInstanceRequest(instanceId="same"), metadata=[("taskhub", "a")], timeout=5
        )

    assert sorted(stores) == ["a", "b"]
    assert in_a.exists


def test_sidecar_refuses_one_store_for_several_hubs():
    sidecar = EmbeddedSidecar(port=0, taskhubs=("a", "b"), store=MemoryStore())
    with pytest.raises(ValueError, match="store_factory"):
        sidecar.start()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"taskhubs": ("a", "a")}, "repeated: a"),
        ({"taskhubs": ("",)}, "non-empty"),
        ({"taskhubs": ("a b",)}, "without spaces"),
        ({"require_token": ""}, "require_token"),
    ],
)
def test_sidecar_options_reject_bad_hubs_and_tokens(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SidecarOptions(**kwargs)


def test_sidecar_options_normalise_hub_list_to_tuple():
    assert SidecarOptions(taskhubs=["a", "b"]).taskhubs == ("a", "b")


def test_hub_store_path_puts_hub_before_extension():
    assert hub_store_path("state.db", "a") == "state.a.db"
    assert hub_store_path("/x/state", "b") == "/x/state.b"
    assert hub_store_path("state.db", "") == "state.db"
