"""Enum values, constants, class shapes and behaviour facts of the 1.12.0 public API."""

from __future__ import annotations

import dataclasses
import inspect
import logging
import os
from abc import ABC
from datetime import timedelta

import pytest

import durabletask
from tests.durabletask.compat.signatures import actual_signature, describe
from tests.durabletask.compat.test_public_api import CLIENT_METHODS

_RPC_METHODS = [name for name, _ in CLIENT_METHODS if name != "__init__"]


def test_package_lazy_exports_resolve_and_package_name_is_set():
    assert durabletask.PACKAGE_NAME == "durabletask"
    for name in durabletask.__all__:
        assert getattr(durabletask, name) is not None


def test_orchestration_status_values_and_str_match_the_proto_names():
    from durabletask.client import OrchestrationStatus

    expected = {"RUNNING": 0, "COMPLETED": 1, "CONTINUED_AS_NEW": 2, "FAILED": 3,
                "TERMINATED": 5, "PENDING": 6, "SUSPENDED": 7}

    assert {m.name: m.value for m in OrchestrationStatus} == expected
    assert str(OrchestrationStatus.COMPLETED) == "COMPLETED"
    assert str(OrchestrationStatus.CONTINUED_AS_NEW) == "CONTINUED_AS_NEW"


def test_client_result_types_are_dataclasses_with_reference_fields():
    from durabletask import client

    state_fields = [f.name for f in dataclasses.fields(client.OrchestrationState)]

    assert state_fields == [
        "instance_id", "name", "runtime_status", "created_at", "last_updated_at",
        "serialized_input", "serialized_output", "serialized_custom_status", "failure_details",
        "_data_converter",
    ]
    for cls in (client.OrchestrationQuery, client.EntityQuery, client.PurgeInstancesResult,
                client.Page, client.CleanEntityStorageResult):
        assert dataclasses.is_dataclass(cls), f"{cls.__name__} is not a dataclass"
    assert client.Page[str] is not None
    assert issubclass(client.OrchestrationFailedError, Exception)


@pytest.mark.parametrize("method", _RPC_METHODS)
def test_async_client_methods_are_coroutines_with_the_sync_signature(method):
    from durabletask.client import AsyncTaskHubGrpcClient, TaskHubGrpcClient

    sync_sig = describe(actual_signature(TaskHubGrpcClient, method))
    async_sig = describe(actual_signature(AsyncTaskHubGrpcClient, method))

    assert inspect.iscoroutinefunction(getattr(AsyncTaskHubGrpcClient, method))
    assert not inspect.iscoroutinefunction(getattr(TaskHubGrpcClient, method))
    assert async_sig == sync_sig


def test_clients_are_context_managers():
    from durabletask.client import AsyncTaskHubGrpcClient, TaskHubGrpcClient

    assert callable(TaskHubGrpcClient.__enter__)
    assert callable(TaskHubGrpcClient.__exit__)
    assert inspect.iscoroutinefunction(AsyncTaskHubGrpcClient.__aenter__)
    assert inspect.iscoroutinefunction(AsyncTaskHubGrpcClient.__aexit__)


def test_sync_client_exposes_default_version_and_emit_trace_spans():
    from durabletask.client import TaskHubGrpcClient

    client = TaskHubGrpcClient(host_address="127.0.0.1:1", default_version="2.0")
    try:
        assert client.default_version == "2.0"
        assert client.emit_trace_spans is True
    finally:
        client.close()


async def test_async_client_exposes_default_version_and_emit_trace_spans():
    from durabletask.client import AsyncTaskHubGrpcClient

    async with AsyncTaskHubGrpcClient(
        host_address="127.0.0.1:1", default_version="2.0", emit_trace_spans=False
    ) as client:
        assert client.default_version == "2.0"
        assert client.emit_trace_spans is False


def test_task_classes_have_the_reference_shapes():
    from durabletask import task

    assert issubclass(task.OrchestrationContext, ABC)
    assert issubclass(task.Task, ABC)
    assert task.Task[int] is not None
    assert issubclass(task.ReplaySafeLogger, logging.LoggerAdapter)
    assert dataclasses.is_dataclass(task.FailureDetails)
    assert task.FailureDetails.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert "on_child_completed" in task.CompositeTask.__abstractmethods__
    for name in ("TaskFailedError", "NonDeterminismError", "OrchestrationStateError",
                 "TaskCancelledError"):
        assert issubclass(getattr(task, name), Exception), name
    for alias in ("Orchestrator", "Activity", "Entity"):
        assert hasattr(task, alias), alias


def test_task_get_name_uses_the_function_name_and_rejects_lambdas():
    from durabletask import task

    def my_orchestrator(ctx, _):
        return None

    assert task.get_name(my_orchestrator) == "my_orchestrator"
    with pytest.raises(ValueError, match="(?i)lambda"):
        task.get_name(lambda ctx, _: None)


def test_task_get_entity_name_prefers_the_durable_entity_name_attribute():
    from durabletask import task
    from durabletask.entities import DurableEntity

    class Counter(DurableEntity):
        pass

    def named(ctx, _):
        return None

    named.__durable_entity_name__ = "Custom"  # type: ignore[attr-defined]

    assert task.get_entity_name(Counter) == "Counter"
    assert task.get_entity_name(named) == "Custom"


def test_worker_constants_enums_and_errors_match_the_reference():
    from durabletask import worker

    assert worker.DEFAULT_MAXIMUM_TIMER_INTERVAL == timedelta(days=3)
    assert worker.DATETIME_STRING_FORMAT == "%Y-%m-%dT%H:%M:%S.%fZ"
    assert {m.name: m.value for m in worker.VersionMatchStrategy} == {
        "NONE": 1, "STRICT": 2, "CURRENT_OR_OLDER": 3}
    assert {m.name: m.value for m in worker.VersionFailureStrategy} == {"REJECT": 1, "FAIL": 2}
    for name in ("OrchestratorNotRegisteredError", "ActivityNotRegisteredError",
                 "EntityNotRegisteredError"):
        assert issubclass(getattr(worker, name), ValueError), name


def test_worker_concurrency_options_apply_the_reference_effective_defaults():
    from durabletask.worker import ConcurrencyOptions

    cpus = os.cpu_count() or 1
    options = ConcurrencyOptions()

    assert options.maximum_concurrent_activity_work_items == 100 * cpus
    assert options.maximum_concurrent_orchestration_work_items == 100 * cpus
    assert options.maximum_concurrent_entity_work_items == 100 * cpus
    assert options.maximum_thread_pool_workers == cpus + 4


def test_worker_filters_are_frozen_dataclasses_and_entity_names_are_lower_cased():
    from durabletask import worker

    for cls in (worker.OrchestrationWorkItemFilter, worker.ActivityWorkItemFilter,
                worker.EntityWorkItemFilter, worker.WorkItemFilters):
        assert dataclasses.is_dataclass(cls), cls.__name__
        assert cls.__dataclass_params__.frozen, cls.__name__  # type: ignore[attr-defined]
    assert worker.EntityWorkItemFilter("Counter").name == "counter"
    assert worker.OrchestrationWorkItemFilter("o").versions == []


def test_worker_is_a_context_manager():
    from durabletask.worker import TaskHubGrpcWorker

    assert callable(TaskHubGrpcWorker.__enter__)
    assert callable(TaskHubGrpcWorker.__exit__)


def test_grpc_options_are_slotted_keyword_only_dataclasses():
    from durabletask import grpc_options

    for name in ("GrpcRetryPolicyOptions", "GrpcChannelOptions", "GrpcWorkerResiliencyOptions",
                 "GrpcClientResiliencyOptions"):
        cls = getattr(grpc_options, name)
        assert dataclasses.is_dataclass(cls), name
        assert "__slots__" in cls.__dict__, f"{name} is not slots=True"


def test_serialization_converter_contract_matches_the_reference():
    from durabletask import serialization

    assert serialization.DataConverter.__abstractmethods__ == {"serialize", "deserialize", "coerce"}
    assert issubclass(serialization.JsonDataConverter, serialization.DataConverter)
    assert isinstance(serialization.DEFAULT_DATA_CONVERTER, serialization.JsonDataConverter)
    assert serialization.DEFAULT_DATA_CONVERTER.serialize({"x": [1, 2]}) == '{"x": [1, 2]}'
    assert serialization.DEFAULT_DATA_CONVERTER.serialize(None) is None


def test_testing_backend_is_a_sidecar_servicer():
    from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
    from durabletask.testing import InMemoryOrchestrationBackend

    assert issubclass(InMemoryOrchestrationBackend, pb_grpc.TaskHubSidecarServiceServicer)


def test_entities_shapes_match_the_reference():
    from durabletask.entities import (
        EntityInstanceId,
        EntityMetadata,
        EntityOperationFailedException,
    )

    for name in ("parse", "validate_entity_name", "validate_key"):
        assert isinstance(inspect.getattr_static(EntityInstanceId, name), staticmethod), name
    for name in ("from_entity_response", "from_entity_metadata"):
        assert isinstance(inspect.getattr_static(EntityMetadata, name), staticmethod), name
    assert issubclass(EntityOperationFailedException, Exception)
    assert str(EntityInstanceId("Counter", "k")) == "@counter@k"
