"""Entity end-to-end fixtures: our worker and client against a sidecar that has entities.

``entity_sidecar`` is parametrised over the sidecars that can run these tests:

* ``official``: the official in-memory sidecar (durabletask 1.12.0), in its own venv and
  process, shared by the session; tests use their own entity keys and instance ids and
  workers ask only for their own names (work item filters);
* ``embedded``: our embedded sidecar, one per test. It is skipped while our sidecar
  answers the entity RPCs with UNIMPLEMENTED, so these tests start running against it
  as soon as it supports entities.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc
import pytest

from durabletask import client, worker
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from durabletask.testing import create_test_backend
from tests.durabletask.conftest import ALWAYS_REPLAY, FAST_WORKER_RESILIENCY
from tests.durabletask.interop.conftest import (  # noqa: F401 - fixtures used by name
    official_python,
    official_sidecar_address,
    official_workdir,
)
from durabletask.worker import OrchestrationCacheOptions

PROBE_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class EntitySidecar:
    """A sidecar with entity support, and a per-test prefix for unique names and keys."""

    kind: str
    address: str
    prefix: str

    def key(self, name: str) -> str:
        """A key (or instance id) no other test uses on a shared sidecar."""
        return f"{self.prefix}-{name}"


def _supports_entities(address: str) -> bool:
    with grpc.insecure_channel(address) as channel:
        stub = pb_grpc.TaskHubSidecarServiceStub(channel)
        try:
            stub.GetEntity(pb.GetEntityRequest(instanceId="@probe@probe"),
                           timeout=PROBE_TIMEOUT_SECONDS)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.UNIMPLEMENTED:
                return False
            raise
    return True


@pytest.fixture(params=["official", "embedded"])
def entity_sidecar(request: pytest.FixtureRequest) -> Iterator[EntitySidecar]:
    """The address of a sidecar that supports entities (see the module docstring)."""
    prefix = uuid.uuid4().hex[:8]
    if request.param == "official":
        yield EntitySidecar("official", request.getfixturevalue("official_sidecar_address"),
                            prefix)
        return
    backend = create_test_backend(port=0)
    try:
        if not _supports_entities(backend.address):
            pytest.skip("our embedded sidecar does not support entities yet")
        yield EntitySidecar("embedded", backend.address, prefix)
    finally:
        backend.stop()


@pytest.fixture
def entity_worker(
    entity_sidecar: EntitySidecar,
) -> Iterator[Callable[..., worker.TaskHubGrpcWorker]]:
    """Starts workers on the entity sidecar with the given orchestrators and entities.

    Workers ask only for the names they register (``filtered=False`` asks for all work).
    """
    started: list[worker.TaskHubGrpcWorker] = []

    def start(
        orchestrators=(), entities=(), activities=(), filtered=True, **kwargs,
    ) -> worker.TaskHubGrpcWorker:
        kwargs.setdefault("resiliency_options", FAST_WORKER_RESILIENCY)
        if ALWAYS_REPLAY:
            kwargs.setdefault("orchestration_cache", OrchestrationCacheOptions(always_replay=True))
        w = worker.TaskHubGrpcWorker(host_address=entity_sidecar.address, **kwargs)
        for fn in orchestrators:
            w.add_orchestrator(fn)
        for fn in activities:
            w.add_activity(fn)
        for entity in entities:
            if isinstance(entity, tuple):
                w.add_entity(entity[1], name=entity[0])
            else:
                w.add_entity(entity)
        if filtered:
            w.use_work_item_filters()  # only our names: the official sidecar is shared
        w.start()
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()


@pytest.fixture
def entity_client(entity_sidecar: EntitySidecar) -> Iterator[client.TaskHubGrpcClient]:
    """A sync client of the entity sidecar."""
    c = client.TaskHubGrpcClient(host_address=entity_sidecar.address)
    try:
        yield c
    finally:
        c.close()
