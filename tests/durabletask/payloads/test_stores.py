"""The stores of the package (folder, memory) and the errors users see when a store fails."""

from __future__ import annotations

import gzip
import pickle
import re
from pathlib import Path

import pytest
from google.protobuf import wrappers_pb2

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.payload import (
    FilePayloadStore,
    InMemoryPayloadStore,
    LargePayloadStorageOptions,
    PayloadNotFoundError,
    PayloadStore,
    PayloadStoreError,
    StoredPayloadTooLargeError,
    externalize_payloads,
)
from durabletask.payload import guarded
from tests.durabletask.payloads.conftest import OPTIONS, payload_files

# The official token format: blob:v1:<container>:<instanceId>/<32 hex digits>.
TOKEN = re.compile(r"^blob:v1:durabletask-payloads:(?P<folder>[^/]+)/[0-9a-f]{32}$")


def test_file_store_writes_gzip_files_under_the_instance_folder(tmp_path: Path) -> None:
    store = FilePayloadStore(tmp_path, OPTIONS)

    token = store.upload(b'"' + b"x" * 5000 + b'"', instance_id="order-1")

    match = TOKEN.match(token)
    assert match is not None
    assert match["folder"] == "order-1"
    [stored] = payload_files(store)
    assert stored.parent == tmp_path / "durabletask-payloads" / "order-1"
    # Compression is on by default, as in the official options; the bytes are gzip.
    assert gzip.decompress(stored.read_bytes()) == b'"' + b"x" * 5000 + b'"'
    assert store.download(token) == b'"' + b"x" * 5000 + b'"'


def test_file_store_without_compression_stores_raw_bytes_and_reads_both(tmp_path: Path) -> None:
    raw = FilePayloadStore(tmp_path, LargePayloadStorageOptions(enable_compression=False))
    zipped = FilePayloadStore(tmp_path)

    raw_token = raw.upload(b"plain text")
    zipped_token = zipped.upload(b"zipped text")

    assert [p.read_bytes()[:2] for p in payload_files(raw)].count(b"\x1f\x8b") == 1
    assert zipped.download(raw_token) == b"plain text"
    assert raw.download(zipped_token) == b"zipped text"


@pytest.mark.parametrize("instance_id", ["../../escape", "a/b", "..", "x" * 600])
def test_file_store_keeps_any_instance_id_inside_one_folder(
    tmp_path: Path, instance_id: str
) -> None:
    store = FilePayloadStore(tmp_path / "root", OPTIONS)

    token = store.upload(b"data", instance_id=instance_id)

    [stored] = payload_files(store)
    assert stored.parent.parent == tmp_path / "root" / "durabletask-payloads"
    assert store.download(token) == b"data"


@pytest.mark.parametrize("token", [
    "blob:v1:durabletask-payloads:../../secret",
    "blob:v1:..:secret",
    "blob:v1:durabletask-payloads:a//b",
])
def test_file_store_refuses_tokens_outside_its_folder_as_not_found(
    tmp_path: Path, token: str
) -> None:
    (tmp_path / "secret").write_text("do not read")
    store = FilePayloadStore(tmp_path / "root" / "deeper", OPTIONS)

    with pytest.raises(PayloadNotFoundError, match=re.escape(token)):
        guarded.resolve_text(store, token)


def test_memory_store_round_trip_and_repr_counts_payloads() -> None:
    store = InMemoryPayloadStore(OPTIONS)

    token = store.upload(b"abc", instance_id="i")

    assert store.download(token) == b"abc"
    assert len(store) == 1
    assert "payloads=1" in repr(store)


def test_stores_recognise_only_blob_tokens(tmp_path: Path) -> None:
    store = FilePayloadStore(tmp_path)
    # The official BlobPayloadStore's rules: prefix, a container and a blob name.
    assert store.is_known_token("blob:v1:c:b")
    assert not store.is_known_token("blob:v1:c:")
    assert not store.is_known_token("blob:v1:")
    assert not store.is_known_token('"blob:v1:c:b"')


def test_missing_payload_is_a_not_found_error_naming_store_and_token(tmp_path: Path) -> None:
    store = FilePayloadStore(tmp_path, OPTIONS)
    token = store.upload(b"gone", instance_id="i")
    for path in payload_files(store):
        path.unlink()
    message = pb.ActivityRequest(input=wrappers_pb2.StringValue(value=token))

    with pytest.raises(PayloadNotFoundError) as caught:
        guarded.resolve(message, store)

    assert not caught.value.retryable
    assert token in str(caught.value)
    assert str(tmp_path) in str(caught.value)


class _UnreachableStore(PayloadStore):
    """A store whose backend refuses connections, as a stopped service does."""

    @property
    def options(self) -> LargePayloadStorageOptions:
        return OPTIONS

    def upload(self, data: bytes, *, instance_id: str | None = None) -> str:
        raise ConnectionRefusedError("connection refused")

    def download(self, token: str) -> bytes:
        raise ConnectionRefusedError("connection refused")

    def is_known_token(self, value: str) -> bool:
        return value.startswith("t:")


def test_unreachable_store_is_a_retryable_store_error() -> None:
    store = _UnreachableStore()

    with pytest.raises(PayloadStoreError) as caught:
        guarded.resolve_text(store, "t:1")
    with pytest.raises(PayloadStoreError) as caught_upload:
        guarded.offload_text(store, "x" * 2000, "i")

    assert caught.value.retryable
    assert caught_upload.value.retryable
    assert "_UnreachableStore could not resolve token 't:1'" in str(caught.value)
    assert "ConnectionRefusedError" in str(caught_upload.value)


def test_store_errors_survive_pickling() -> None:
    error = PayloadNotFoundError("S", "blob:v1:c:b", "gone")

    copy = pickle.loads(pickle.dumps(error))

    assert (type(copy), str(copy), copy.retryable) == (PayloadNotFoundError, str(error), False)


def test_payload_above_store_maximum_is_refused_before_anything_is_uploaded() -> None:
    store = InMemoryPayloadStore(LargePayloadStorageOptions(
        threshold_bytes=10, max_stored_payload_bytes=100))
    request = pb.OrchestratorResponse(
        customStatus=wrappers_pb2.StringValue(value="s" * 50),
        actions=[pb.OrchestratorAction(completeOrchestration=pb.CompleteOrchestrationAction(
            result=wrappers_pb2.StringValue(value="r" * 101)))])

    # The official helper raises ValueError("Payload size ... exceeds the maximum ...").
    with pytest.raises(ValueError, match="exceeds the maximum") as caught:
        externalize_payloads(request, store)

    assert isinstance(caught.value, StoredPayloadTooLargeError)
    assert len(store) == 0
    assert request.customStatus.value == "s" * 50
