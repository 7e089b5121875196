"""What the scheduler types put on the wire, seen by a real gRPC server; scopes; packaging."""

from __future__ import annotations

import concurrent.futures
import importlib.metadata
import inspect
import os
import pathlib
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import empty_pb2

import durabletask.azuremanaged
from durabletask.azuremanaged.client import (
    AsyncDurableTaskSchedulerClient,
    DurableTaskSchedulerClient,
)
from durabletask.azuremanaged.internal.headers import merge_metadata, token_scope
from durabletask.azuremanaged.worker import DurableTaskSchedulerWorker
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from tests.durabletask.helpers.wait import poll_until


@pytest.fixture
def clock():
    """Real time: the SDK's token managers use the system clock here."""
    return time.time


class _RecordingHandler(grpc.GenericRpcHandler):
    """Answers Hello and GetInstance (not found) and records every call's metadata."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()

    def _record(self, method: str, context: grpc.ServicerContext) -> None:
        with self._lock:
            self.calls.append((method, dict(context.invocation_metadata())))

    def metadata_of(self, method: str) -> list[dict[str, str]]:
        with self._lock:
            return [metadata for name, metadata in self.calls if name == method]

    def service(self, handler_call_details):
        method = handler_call_details.method.rsplit("/", 1)[-1]
        if method == "Hello":
            def hello(request, context):
                self._record(method, context)
                return empty_pb2.Empty()

            return grpc.unary_unary_rpc_method_handler(
                hello, empty_pb2.Empty.FromString, empty_pb2.Empty.SerializeToString
            )
        if method == "GetInstance":
            def get_instance(request, context):
                self._record(method, context)
                return pb.GetInstanceResponse(exists=False)

            return grpc.unary_unary_rpc_method_handler(
                get_instance, pb.GetInstanceRequest.FromString,
                pb.GetInstanceResponse.SerializeToString,
            )
        if method == "GetWorkItems":
            def get_work_items(request, context):
                self._record(method, context)
                context.abort(grpc.StatusCode.UNAVAILABLE, "recording server has no work")

            return grpc.unary_stream_rpc_method_handler(
                get_work_items, pb.GetWorkItemsRequest.FromString,
                pb.WorkItem.SerializeToString,
            )
        return None


@pytest.fixture
def recorder() -> Iterator[tuple[str, _RecordingHandler]]:
    handler = _RecordingHandler()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=4)
    server = grpc.server(pool, handlers=(handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"http://127.0.0.1:{port}", handler
    finally:
        server.stop(None).wait(5.0)
        pool.shutdown(wait=True)


def test_scheduler_client_sends_taskhub_user_agent_and_bearer_token(recorder, credential):
    address, handler = recorder
    with DurableTaskSchedulerClient(
        host_address=address, taskhub="orders", token_credential=credential,
        secure_channel=False,
    ) as scheduler:
        assert credential.calls == 0  # lazy: nothing fetched before the first call
        assert scheduler.get_orchestration_state("id-1") is None

    (metadata,) = handler.metadata_of("GetInstance")
    assert metadata["taskhub"] == "orders"
    assert metadata["x-user-agent"] == "durabletask-python/1.12.0.post1"
    assert metadata["authorization"] == "Bearer tok-1"
    assert "workerid" not in metadata
    assert credential.scopes == [("https://durabletask.io/.default",)]


def test_scheduler_client_uses_resource_id_for_scope(recorder, credential):
    address, _ = recorder
    with DurableTaskSchedulerClient(
        host_address=address, taskhub="h", token_credential=credential,
        resource_id="https://example.test/", secure_channel=False,
    ) as scheduler:
        scheduler.get_orchestration_state("id-1")

    assert credential.scopes == [("https://example.test/.default",)]


def test_anonymous_scheduler_client_sends_no_authorization(recorder):
    address, handler = recorder
    with DurableTaskSchedulerClient(
        host_address=address, taskhub="h", token_credential=None, secure_channel=False
    ) as scheduler:
        scheduler.get_orchestration_state("id-1")

    (metadata,) = handler.metadata_of("GetInstance")
    assert "authorization" not in metadata
    assert metadata["taskhub"] == "h"


def test_scheduler_worker_sends_worker_id_on_every_call(recorder, credential, worker_resiliency):
    address, handler = recorder
    worker = DurableTaskSchedulerWorker(
        host_address=address, taskhub="orders", token_credential=credential,
        secure_channel=False, resiliency_options=worker_resiliency,
    )
    worker.start()
    try:
        poll_until(lambda: handler.metadata_of("GetWorkItems"), message="a work-item stream")
    finally:
        worker.stop()

    hello = handler.metadata_of("Hello")[0]
    stream = handler.metadata_of("GetWorkItems")[0]
    assert re.fullmatch(rf"[^:]+:{os.getpid()}:[0-9a-f-]{{36}}", hello["workerid"])
    assert stream["workerid"] == hello["workerid"]
    assert stream["taskhub"] == hello["taskhub"] == "orders"
    assert stream["authorization"] == "Bearer tok-1"


def test_token_scope_follows_us_government_region():
    assert token_scope(None, {}) == "https://durabletask.io/.default"
    assert token_scope(None, {"REGION_NAME": "USGovVirginia"}) == (
        "https://durabletask.azure.us/.default"
    )
    assert token_scope(None, {"REGION_NAME": "usdodeast"}) == (
        "https://durabletask.azure.us/.default"
    )
    assert token_scope("https://custom", {"REGION_NAME": "usgov"}) == "https://custom/.default"


def test_merge_metadata_returns_new_list_replacing_keys():
    existing = [("authorization", "Bearer old"), ("x-custom", "1")]
    added = (("authorization", "Bearer new"),)

    merged = merge_metadata(existing, added)

    assert merged == [("x-custom", "1"), ("authorization", "Bearer new")]
    assert existing == [("authorization", "Bearer old"), ("x-custom", "1")]


_CLIENT_PARAMS = [
    ("host_address", inspect.Parameter.empty), ("taskhub", inspect.Parameter.empty),
    ("token_credential", inspect.Parameter.empty), ("resource_id", None), ("channel", None),
    ("secure_channel", True), ("interceptors", None), ("channel_options", None),
    ("resiliency_options", None), ("default_version", None), ("payload_store", None),
    ("data_converter", None), ("log_handler", None), ("log_formatter", None), ("logger", None),
]
_WORKER_PARAMS = [
    ("host_address", inspect.Parameter.empty), ("taskhub", inspect.Parameter.empty),
    ("token_credential", inspect.Parameter.empty), ("resource_id", None), ("channel", None),
    ("secure_channel", True), ("interceptors", None), ("channel_options", None),
    ("resiliency_options", None), ("concurrency_options", None), ("payload_store", None),
    ("data_converter", None), ("log_handler", None), ("log_formatter", None), ("logger", None),
    ("exception_properties_provider", None),
]


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (DurableTaskSchedulerClient, _CLIENT_PARAMS),
        (AsyncDurableTaskSchedulerClient, _CLIENT_PARAMS),
        (DurableTaskSchedulerWorker, _WORKER_PARAMS),
    ],
)
def test_scheduler_types_match_official_signatures(cls, expected):
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]

    assert [(p.name, p.default) for p in params] == expected
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params)


def test_scheduler_types_are_exported_from_package():
    assert durabletask.azuremanaged.DurableTaskSchedulerClient is DurableTaskSchedulerClient
    assert durabletask.azuremanaged.DurableTaskSchedulerWorker is DurableTaskSchedulerWorker
    assert set(durabletask.azuremanaged.__all__) == {
        "AsyncDurableTaskSchedulerClient", "DurableTaskSchedulerClient",
        "DurableTaskSchedulerWorker",
    }


@pytest.mark.slow
def test_installed_provider_imports_from_any_directory(tmp_path):
    """`pip install -e` of both distributions: the core stays a regular package."""
    try:
        importlib.metadata.distribution("durabletask-azuremanaged")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("durabletask-azuremanaged is not installed in this venv: run make install")
    script = (
        "import durabletask, durabletask.azuremanaged as az, durabletask.worker;"
        "from durabletask.azuremanaged import DurableTaskSchedulerClient;"
        "print(durabletask.__file__); print(az.__file__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
        timeout=60, check=False,
    )

    assert done.returncode == 0, done.stderr
    core_file, provider_file = done.stdout.split()
    repo = pathlib.Path(__file__).resolve().parents[2]
    assert pathlib.Path(core_file) == repo / "durabletask" / "__init__.py"
    assert pathlib.Path(provider_file).parts[-3:] == ("durabletask", "azuremanaged", "__init__.py")
