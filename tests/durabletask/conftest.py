"""Shared fixtures: a real embedded sidecar on 127.0.0.1 (ephemeral port), workers, clients."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from durabletask import client, worker
from durabletask.grpc_options import GrpcWorkerResiliencyOptions
from durabletask.testing import InMemoryOrchestrationBackend, create_test_backend
from durabletask.worker import OrchestrationCacheOptions

# `make test` runs the end-to-end suite a second time with DT_ALWAYS_REPLAY=1: every
# episode then replays the full history, which hunts nondeterminism the cache would hide.
ALWAYS_REPLAY = os.environ.get("DT_ALWAYS_REPLAY") == "1"

# Short reconnect backoff keeps tests that restart things fast; behaviour is unchanged.
FAST_WORKER_RESILIENCY = GrpcWorkerResiliencyOptions(
    hello_timeout_seconds=2.0,
    silent_disconnect_timeout_seconds=10.0,
    reconnect_backoff_base_seconds=0.05,
    reconnect_backoff_cap_seconds=0.5,
)


@pytest.fixture
def sidecar() -> Iterator[InMemoryOrchestrationBackend]:
    """A started embedded sidecar, stopped after the test."""
    backend = create_test_backend(port=0)
    try:
        yield backend
    finally:
        backend.stop()


@pytest.fixture
def make_worker(
    sidecar: InMemoryOrchestrationBackend,
) -> Iterator[Callable[..., worker.TaskHubGrpcWorker]]:
    """Builds workers bound to the sidecar; each is stopped after the test."""
    created: list[worker.TaskHubGrpcWorker] = []

    def factory(
        orchestrators: list | tuple = (), activities: list | tuple = (), **kwargs
    ) -> worker.TaskHubGrpcWorker:
        kwargs.setdefault("resiliency_options", FAST_WORKER_RESILIENCY)
        if ALWAYS_REPLAY:
            kwargs.setdefault(
                "orchestration_cache", OrchestrationCacheOptions(always_replay=True)
            )
        w = worker.TaskHubGrpcWorker(host_address=sidecar.address, **kwargs)
        for fn in orchestrators:
            w.add_orchestrator(fn)
        for fn in activities:
            w.add_activity(fn)
        created.append(w)
        return w

    yield factory
    for w in created:
        w.stop()


@pytest.fixture
def run_worker(make_worker) -> Callable[..., worker.TaskHubGrpcWorker]:
    """Builds and starts a worker with the given orchestrators and activities."""

    def factory(orchestrators=(), activities=(), **kwargs) -> worker.TaskHubGrpcWorker:
        w = make_worker(orchestrators, activities, **kwargs)
        w.start()
        return w

    return factory


@pytest.fixture
def dt_client(sidecar: InMemoryOrchestrationBackend) -> Iterator[client.TaskHubGrpcClient]:
    """A sync client connected to the sidecar."""
    c = client.TaskHubGrpcClient(host_address=sidecar.address)
    try:
        yield c
    finally:
        c.close()
