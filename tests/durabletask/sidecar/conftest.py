"""Fixtures for sidecar tests: a real embedded sidecar, raw stubs and scripted workers."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import grpc
import pytest

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from durabletask.sidecar import EmbeddedSidecar
from durabletask.sidecar.store import Store
from tests.durabletask.sidecar.fake_worker import FakeWorker
from tests.durabletask.sidecar.test_store_contract import STORE_FACTORIES


class Harness:
    """One started sidecar, a channel and stub to it, and the fake workers opened on it."""

    def __init__(self, sidecar: EmbeddedSidecar):
        self.sidecar = sidecar
        self.channel = grpc.insecure_channel(sidecar.address)
        self.stub = pb_grpc.TaskHubSidecarServiceStub(self.channel)
        self._workers: list[FakeWorker] = []

    def worker(self, *, metadata: tuple[tuple[str, str], ...] | None = None,
               **request_fields) -> FakeWorker:
        """Open a GetWorkItems stream with the given request fields (and call metadata)."""
        worker = FakeWorker(self.stub, pb.GetWorkItemsRequest(**request_fields), metadata)
        self._workers.append(worker)
        return worker

    def start(
        self, instance_id: str, name: str = "orch", data: str | None = None, **fields
    ) -> str:
        """StartInstance and return the id."""
        request = pb.CreateInstanceRequest(instanceId=instance_id, name=name, **fields)
        if data is not None:
            request.input.value = data
        return self.stub.StartInstance(request, timeout=5).instanceId

    def get(self, instance_id: str, payloads: bool = True) -> pb.GetInstanceResponse:
        """GetInstance."""
        return self.stub.GetInstance(
            pb.GetInstanceRequest(instanceId=instance_id, getInputsAndOutputs=payloads), timeout=5
        )

    def status(self, instance_id: str) -> int:
        """The instance's runtime status."""
        return self.get(instance_id).orchestrationState.orchestrationStatus

    def wait_done(self, instance_id: str, timeout: float = 5.0) -> pb.OrchestrationState:
        """WaitForInstanceCompletion and return the state."""
        response = self.stub.WaitForInstanceCompletion(
            pb.GetInstanceRequest(instanceId=instance_id, getInputsAndOutputs=True),
            timeout=timeout,
        )
        assert response.exists
        return response.orchestrationState

    def history(self, instance_id: str) -> list[pb.HistoryEvent]:
        """The full history via StreamInstanceHistory."""
        chunks = self.stub.StreamInstanceHistory(
            pb.StreamInstanceHistoryRequest(instanceId=instance_id), timeout=5
        )
        return [e for chunk in chunks for e in chunk.events]

    def close(self) -> None:
        """Close workers and the channel."""
        for worker in self._workers:
            worker.close()
        self.channel.close()


@contextlib.contextmanager
def harness_factory() -> Iterator[Callable[..., Harness]]:
    """Builds harnesses over started sidecars with the given options; stops them all on exit."""
    created: list[tuple[Harness, EmbeddedSidecar]] = []

    def factory(**options) -> Harness:
        options.setdefault("health_ping_interval_seconds", 30.0)
        options.setdefault("abandon_backoff_base_seconds", 0.05)
        sidecar = EmbeddedSidecar(port=0, **options)
        sidecar.start()
        harness = Harness(sidecar)
        created.append((harness, sidecar))
        return harness

    try:
        yield factory
    finally:
        for harness, sidecar in created:
            harness.close()
            sidecar.stop()


@pytest.fixture
def make_harness() -> Iterator[Callable[..., Harness]]:
    """Builds harnesses over sidecars with the given options; all are stopped after the test."""
    with harness_factory() as factory:
        yield factory


@pytest.fixture
def harness(make_harness: Callable[..., Harness]) -> Harness:
    """A harness over a sidecar with default test options."""
    return make_harness()


@pytest.fixture(params=sorted(STORE_FACTORIES))
def store(request, tmp_path) -> Iterator[Store]:
    """Each store implementation in turn: tests taking it form the store contract."""
    s = STORE_FACTORIES[request.param](tmp_path)
    try:
        yield s
    finally:
        s.close()
