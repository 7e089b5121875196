"""Large payloads: externalised above the threshold, restored from tokens, via the client."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from google.protobuf import wrappers_pb2

from durabletask import client
from durabletask.errors import PayloadTooLargeError
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.payload import (
    LargePayloadStorageOptions,
    PayloadStore,
    deexternalize_payloads,
    deexternalize_payloads_async,
    externalize_payloads,
    externalize_payloads_async,
)
from tests.durabletask.client.scripted_sidecar import ScriptedSidecar


class DictStore(PayloadStore):
    """An in-memory payload store: a real implementation of the ABC, for tests."""

    def __init__(self, threshold: int = 10, max_bytes: int = 1000) -> None:
        self._options = LargePayloadStorageOptions(threshold_bytes=threshold,
                                                   max_stored_payload_bytes=max_bytes)
        self.blobs: dict[str, bytes] = {}
        self.uploaded_for: list[str | None] = []
        self._lock = threading.Lock()

    @property
    def options(self) -> LargePayloadStorageOptions:
        return self._options

    def upload(self, data: bytes, *, instance_id: str | None = None) -> str:
        with self._lock:
            token = f"dict:v1:{len(self.blobs)}"
            self.blobs[token] = data
            self.uploaded_for.append(instance_id)
        return token

    def download(self, token: str) -> bytes:
        return self.blobs[token]

    def is_known_token(self, value: str) -> bool:
        return value.startswith("dict:v1:")


def _request(text: str) -> pb.CreateInstanceRequest:
    return pb.CreateInstanceRequest(instanceId="i", name="o",
                                    input=wrappers_pb2.StringValue(value=text))


def test_externalize_replaces_only_strings_above_threshold() -> None:
    store = DictStore(threshold=10)
    small, large = _request("short"), _request("x" * 11)
    externalize_payloads(small, store, instance_id="i")
    externalize_payloads(large, store, instance_id="i")
    assert small.input.value == "short"
    assert large.input.value == "dict:v1:0"
    assert store.uploaded_for == ["i"]
    deexternalize_payloads(large, store)
    assert large.input.value == "x" * 11


def test_externalize_walks_nested_and_repeated_messages() -> None:
    store = DictStore(threshold=3)
    response = pb.QueryInstancesResponse(orchestrationState=[
        pb.OrchestrationState(output=wrappers_pb2.StringValue(value="long output")),
        pb.OrchestrationState(customStatus=wrappers_pb2.StringValue(value="long status")),
    ])
    externalize_payloads(response, store)
    assert len(store.blobs) == 2
    deexternalize_payloads(response, store)
    assert response.orchestrationState[1].customStatus.value == "long status"


def test_externalize_refuses_payload_above_store_maximum() -> None:
    with pytest.raises(PayloadTooLargeError, match="101 bytes"):
        externalize_payloads(_request("x" * 101), DictStore(threshold=10, max_bytes=100))


async def test_async_externalize_uses_the_store_default_async_methods() -> None:
    store = DictStore()
    request = _request("y" * 50)
    await externalize_payloads_async(request, store)
    assert store.is_known_token(request.input.value)
    await deexternalize_payloads_async(request, store)
    assert request.input.value == "y" * 50


def test_payload_store_abstract_members_have_async_defaults() -> None:
    assert PayloadStore.__abstractmethods__ == {"options", "upload", "download",
                                                "is_known_token"}


@pytest.fixture
def scripted() -> Iterator[ScriptedSidecar]:
    server = ScriptedSidecar()
    try:
        yield server
    finally:
        server.stop()


def test_client_with_payload_store_sends_tokens_instead_of_large_data(
    scripted: ScriptedSidecar,
) -> None:
    store = DictStore(threshold=10)
    with client.TaskHubGrpcClient(host_address=scripted.address, payload_store=store) as c:
        c.raise_orchestration_event("i", "e", data="z" * 100)
    sent = scripted.calls[0][1]
    assert sent.input.value == "dict:v1:0"
    assert store.blobs["dict:v1:0"] == ('"' + "z" * 100 + '"').encode()
