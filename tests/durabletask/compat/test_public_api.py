"""The public API matches durabletask 1.12.0 (shared/reference/API.md), name by name.

Signatures are hand-copied from API.md as parameter text and compared with
``inspect.signature``: parameter names, kinds (keyword-only ...) and defaults. Additions
are allowed only where no existing call can break (extra parameters with defaults).
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.durabletask.compat.signatures import (
    actual_signature,
    describe,
    parse_spec,
    signature_problems,
)

REPO_ROOT = Path(__file__).resolve().parents[3]

CLIENT_METHODS: list[tuple[str, str]] = [
    ("__init__", "*, host_address=None, metadata=None, log_handler=None, log_formatter=None, "
                 "logger=None, channel=None, secure_channel=False, interceptors=None, "
                 "channel_options=None, resiliency_options=None, default_version=None, "
                 "payload_store=None, data_converter=None, emit_trace_spans=True"),
    ("close", ""),
    ("schedule_new_orchestration", "orchestrator, *, input=None, instance_id=None, "
                                   "start_at=None, reuse_id_policy=None, tags=None, version=None"),
    ("get_orchestration_state", "instance_id, *, fetch_payloads=True"),
    ("get_orchestration_history",
     "instance_id, *, execution_id=None, for_work_item_processing=False"),
    ("list_instance_ids", "runtime_status=None, completed_time_from=None, "
                          "completed_time_to=None, page_size=None, continuation_token=None"),
    ("get_all_orchestration_states", "orchestration_query=None"),
    ("wait_for_orchestration_start", "instance_id, *, fetch_payloads=False, timeout=60"),
    ("wait_for_orchestration_completion", "instance_id, *, fetch_payloads=True, timeout=60"),
    ("raise_orchestration_event", "instance_id, event_name, *, data=None"),
    ("terminate_orchestration", "instance_id, *, output=None, recursive=True"),
    ("suspend_orchestration", "instance_id, *, reason=None"),
    ("resume_orchestration", "instance_id, *, reason=None"),
    ("rewind_orchestration", "instance_id, *, reason=None"),
    ("restart_orchestration", "instance_id, *, restart_with_new_instance_id=False"),
    ("purge_orchestration", "instance_id, recursive=True"),
    ("purge_orchestrations_by", "created_time_from=None, created_time_to=None, "
                                "runtime_status=None, recursive=False, timeout=None"),
    ("signal_entity", "entity_instance_id, operation_name, input=None, signal_time=None"),
    ("get_entity", "entity_instance_id, include_state=True"),
    ("get_all_entities", "entity_query=None"),
    ("clean_entity_storage", "remove_empty_entities=True, release_orphaned_locks=True"),
]

# (module, "Class", "Class.method" or "function", parameter text). "Class" alone checks the
# constructor; "Class.__init__" entries above are expanded the same way.
SIGNATURES: list[tuple[str, str, str]] = [
    *[("durabletask.client", f"{cls}.{name}" if name != "__init__" else cls, spec)
      for cls in ("TaskHubGrpcClient", "AsyncTaskHubGrpcClient")
      for name, spec in CLIENT_METHODS],
    ("durabletask.client", "OrchestrationState.get_input", "expected_type=None"),
    ("durabletask.client", "OrchestrationState.get_output", "expected_type=None"),
    ("durabletask.client", "OrchestrationState.get_custom_status", "expected_type=None"),
    ("durabletask.client", "OrchestrationState.raise_if_failed", ""),
    ("durabletask.client", "OrchestrationQuery",
     "created_time_from=None, created_time_to=None, runtime_status=None, "
     "max_instance_count=2147483647, fetch_inputs_and_outputs=False, instance_id_prefix=None"),
    ("durabletask.client", "EntityQuery",
     "instance_id_starts_with=None, last_modified_from=None, last_modified_to=None, "
     "include_state=True, include_transient=False, page_size=None"),
    ("durabletask.client", "PurgeInstancesResult", "deleted_instance_count, is_complete"),
    ("durabletask.client", "Page", "items, continuation_token"),
    ("durabletask.client", "CleanEntityStorageResult",
     "empty_entities_removed, orphaned_locks_released"),
    ("durabletask.client", "OrchestrationFailedError", "message, failure_details"),
    ("durabletask.client", "new_orchestration_state", "instance_id, res, data_converter=None"),
    ("durabletask.client", "parse_orchestration_state", "state, data_converter=None"),
    ("durabletask.client", "new_purge_instances_result", "response"),
    # task (§1.3)
    ("durabletask.task", "OrchestrationContext.set_custom_status", "custom_status"),
    ("durabletask.task", "OrchestrationContext.create_timer", "fire_at"),
    ("durabletask.task", "OrchestrationContext.call_activity",
     "activity, *, input=None, retry_policy=None, tags=None, return_type=None"),
    ("durabletask.task", "OrchestrationContext.call_entity",
     "entity, operation, input=None, *, return_type=None"),
    ("durabletask.task", "OrchestrationContext.signal_entity",
     "entity_id, operation_name, input=None, signal_time=None"),
    ("durabletask.task", "OrchestrationContext.lock_entities", "entities"),
    ("durabletask.task", "OrchestrationContext.call_sub_orchestrator",
     "orchestrator, *, input=None, instance_id=None, retry_policy=None, version=None, "
     "return_type=None"),
    ("durabletask.task", "OrchestrationContext.wait_for_external_event", "name, *, data_type=None"),
    ("durabletask.task", "OrchestrationContext.send_event",
     "instance_id, event_name, *, data=None"),
    ("durabletask.task", "OrchestrationContext.continue_as_new",
     "new_input, *, save_events=False, new_version=None"),
    ("durabletask.task", "OrchestrationContext.new_uuid", ""),
    ("durabletask.task", "OrchestrationContext.create_replay_safe_logger", "logger"),
    ("durabletask.task", "ReplaySafeLogger", "logger, is_replaying"),
    ("durabletask.task", "ReplaySafeLogger.isEnabledFor", "level"),
    ("durabletask.task", "FailureDetails",
     "message, error_type, stack_trace, inner_failure=None, properties=None"),
    ("durabletask.task", "FailureDetails.is_caused_by", "error_type"),
    ("durabletask.task", "TaskFailedError", "message, details"),
    ("durabletask.task", "Task.get_result", ""),
    ("durabletask.task", "Task.get_exception", ""),
    ("durabletask.task", "CompletableTask", "expected_type=None"),
    ("durabletask.task", "CompletableTask.complete", "result"),
    ("durabletask.task", "CompletableTask.fail", "message, details"),
    ("durabletask.task", "CancellableTask", "expected_type=None"),
    ("durabletask.task", "CancellableTask.cancel", ""),
    ("durabletask.task", "CancellableTask.set_cancel_handler", "cancel_handler"),
    ("durabletask.task", "TimerTask", "final_fire_at=None, maximum_timer_interval=None"),
    # API.md abbreviates this parameter as `task`; the official name is `retryable_task`.
    ("durabletask.task", "TimerTask.set_retryable_parent", "retryable_task"),
    ("durabletask.task", "RetryableTask",
     "retry_policy, action, start_time, is_sub_orch, expected_type=None"),
    ("durabletask.task", "RetryableTask.increment_attempt_count", ""),
    ("durabletask.task", "RetryableTask.compute_next_delay", ""),
    ("durabletask.task", "CompositeTask", "tasks"),
    ("durabletask.task", "CompositeTask.get_tasks", ""),
    ("durabletask.task", "CompositeTask.on_child_completed", "task"),
    ("durabletask.task", "WhenAllTask", "tasks"),
    ("durabletask.task", "WhenAllTask.get_completed_tasks", ""),
    ("durabletask.task", "WhenAnyTask", "tasks"),
    ("durabletask.task", "when_all", "tasks"),
    ("durabletask.task", "when_any", "tasks"),
    ("durabletask.task", "ActivityContext", "orchestration_id, task_id"),
    ("durabletask.task", "RetryPolicy",
     "*, first_retry_interval, max_number_of_attempts, backoff_coefficient=1.0, "
     "max_retry_interval=None, retry_timeout=None"),
    ("durabletask.task", "get_name", "fn"),
    ("durabletask.task", "get_entity_name", "fn"),
    # worker (§1.4)
    ("durabletask.worker", "TaskHubGrpcWorker",
     "*, host_address=None, metadata=None, log_handler=None, log_formatter=None, logger=None, "
     "channel=None, secure_channel=False, interceptors=None, channel_options=None, "
     "resiliency_options=None, concurrency_options=None, "
     "maximum_timer_interval=timedelta(days=3), payload_store=None, data_converter=None, "
     "exception_properties_provider=None, emit_trace_spans=True"),
    ("durabletask.worker", "TaskHubGrpcWorker.add_orchestrator", "fn"),
    ("durabletask.worker", "TaskHubGrpcWorker.add_activity", "fn"),
    ("durabletask.worker", "TaskHubGrpcWorker.add_entity", "fn, name=None"),
    ("durabletask.worker", "TaskHubGrpcWorker.add_capability", "capability"),
    ("durabletask.worker", "TaskHubGrpcWorker.use_versioning", "version"),
    ("durabletask.worker", "TaskHubGrpcWorker.use_work_item_filters", "filters=ANY"),
    ("durabletask.worker", "TaskHubGrpcWorker.start", ""),
    ("durabletask.worker", "TaskHubGrpcWorker.stop", ""),
    ("durabletask.worker", "ConcurrencyOptions",
     "maximum_concurrent_activity_work_items=None, "
     "maximum_concurrent_orchestration_work_items=None, "
     "maximum_concurrent_entity_work_items=None, maximum_thread_pool_workers=None"),
    ("durabletask.worker", "VersioningOptions",
     "version=None, default_version=None, match_strategy=None, failure_strategy=None"),
    ("durabletask.worker", "OrchestrationWorkItemFilter", "name, versions=[]"),
    ("durabletask.worker", "ActivityWorkItemFilter", "name, versions=[]"),
    ("durabletask.worker", "EntityWorkItemFilter", "name"),
    ("durabletask.worker", "WorkItemFilters", "orchestrations=[], activities=[], entities=[]"),
    # entities (§1.5)
    ("durabletask.entities", "EntityInstanceId", "entity, key"),
    ("durabletask.entities", "EntityInstanceId.parse", "entity_id"),
    ("durabletask.entities", "EntityInstanceId.validate_entity_name", "name"),
    ("durabletask.entities", "EntityInstanceId.validate_key", "key"),
    ("durabletask.entities", "DurableEntity.get_state", "intended_type=None, default=None"),
    ("durabletask.entities", "DurableEntity.set_state", "state"),
    ("durabletask.entities", "DurableEntity.signal_entity",
     "entity_instance_id, operation, input=None, signal_time=None"),
    ("durabletask.entities", "DurableEntity.schedule_new_orchestration",
     "orchestration_name, input=None, instance_id=None"),
    ("durabletask.entities", "DurableEntity.delete", "input=None"),
    ("durabletask.entities", "EntityContext",
     "orchestration_id, operation, state, entity_id, data_converter"),
    ("durabletask.entities", "EntityContext.get_state", "intended_type=None, default=None"),
    ("durabletask.entities", "EntityContext.set_state", "new_state"),
    ("durabletask.entities", "EntityLock", "context"),
    ("durabletask.entities", "EntityMetadata",
     "id, last_modified, backlog_queue_size, locked_by, includes_state, state, data_converter"),
    ("durabletask.entities", "EntityMetadata.get_state", "intended_type=None"),
    ("durabletask.entities", "EntityMetadata.get_locked_by", ""),
    ("durabletask.entities", "EntityOperationFailedException",
     "entity_instance_id, operation_name, failure_details"),
    # grpc_options (§1.6)
    ("durabletask.grpc_options", "GrpcRetryPolicyOptions",
     "*, max_attempts=4, initial_backoff_seconds=0.05, max_backoff_seconds=0.25, "
     "backoff_multiplier=2.0, retryable_status_codes=['UNAVAILABLE']"),
    ("durabletask.grpc_options", "GrpcRetryPolicyOptions.to_service_config", ""),
    ("durabletask.grpc_options", "GrpcChannelOptions",
     "*, max_receive_message_length=None, max_send_message_length=None, "
     "keepalive_time_ms=None, keepalive_timeout_ms=None, keepalive_permit_without_calls=None, "
     "retry_policy=None, raw_options=[]"),
    ("durabletask.grpc_options", "GrpcChannelOptions.to_grpc_options", ""),
    ("durabletask.grpc_options", "GrpcWorkerResiliencyOptions",
     "*, hello_timeout_seconds=30.0, silent_disconnect_timeout_seconds=120.0, "
     "channel_recreate_failure_threshold=5, reconnect_backoff_base_seconds=1.0, "
     "reconnect_backoff_cap_seconds=30.0"),
    ("durabletask.grpc_options", "GrpcClientResiliencyOptions",
     "*, channel_recreate_failure_threshold=5, min_recreate_interval_seconds=30.0"),
    # serialization (§1.7)
    ("durabletask.serialization", "DataConverter.serialize", "value"),
    ("durabletask.serialization", "DataConverter.deserialize", "data, target_type=None"),
    ("durabletask.serialization", "DataConverter.coerce", "value, target_type=None"),
    ("durabletask.serialization", "DataConverter.can_reconstruct", "target_type"),
    # testing (§1.10)
    ("durabletask.testing", "create_test_backend", "port=50051, max_history_size=10000"),
    ("durabletask.testing", "InMemoryOrchestrationBackend", "max_history_size=10000, port=50051"),
    ("durabletask.testing", "InMemoryOrchestrationBackend.start", ""),
    ("durabletask.testing", "InMemoryOrchestrationBackend.stop", "grace=None"),
    ("durabletask.testing", "InMemoryOrchestrationBackend.reset", ""),
]

# (module, class, names that must be properties) from API.md.
PROPERTIES: list[tuple[str, str, tuple[str, ...]]] = [
    ("durabletask.client", "TaskHubGrpcClient", ("emit_trace_spans",)),
    ("durabletask.client", "AsyncTaskHubGrpcClient", ("emit_trace_spans",)),
    ("durabletask.client", "OrchestrationFailedError", ("failure_details",)),
    ("durabletask.task", "OrchestrationContext",
     ("instance_id", "parent_instance_id", "version", "current_utc_datetime", "is_replaying")),
    ("durabletask.task", "TaskFailedError", ("details",)),
    ("durabletask.task", "Task", ("is_complete", "is_failed", "result")),
    ("durabletask.task", "CancellableTask", ("is_cancelled",)),
    ("durabletask.task", "WhenAllTask", ("pending_tasks",)),
    ("durabletask.task", "ActivityContext", ("orchestration_id", "task_id")),
    ("durabletask.task", "RetryPolicy",
     ("first_retry_interval", "max_number_of_attempts", "backoff_coefficient",
      "max_retry_interval", "retry_timeout")),
    ("durabletask.worker", "TaskHubGrpcWorker",
     ("concurrency_options", "maximum_timer_interval", "emit_trace_spans")),
    ("durabletask.entities", "EntityContext", ("orchestration_id", "operation", "entity_id")),
]

EXACT_ALL: list[tuple[str, set[str]]] = [
    ("durabletask", {
        "ActivityWorkItemFilter", "ConcurrencyOptions", "EntityWorkItemFilter",
        "ExceptionPropertiesProvider", "GrpcChannelOptions", "GrpcRetryPolicyOptions",
        "LargePayloadStorageOptions", "OrchestrationWorkItemFilter", "PayloadStore",
        "VersioningOptions", "WorkItemFilters"}),
    ("durabletask.worker", {"ConcurrencyOptions", "TaskHubGrpcWorker"}),
    ("durabletask.entities", {
        "EntityInstanceId", "DurableEntity", "EntityLock", "EntityContext", "EntityMetadata",
        "EntityOperationFailedException"}),
    ("durabletask.testing", {"InMemoryOrchestrationBackend", "create_test_backend"}),
]

PUBLIC_MODULES = [
    "durabletask", "durabletask.client", "durabletask.worker", "durabletask.task",
    "durabletask.entities", "durabletask.grpc_options", "durabletask.serialization",
    "durabletask.payload", "durabletask.history", "durabletask.testing",
    "durabletask.exception_properties", "durabletask.errors",
]


def _resolve(module_name: str, qualname: str) -> tuple[object, str | None]:
    owner: object = importlib.import_module(module_name)
    parts = qualname.split(".")
    for part in parts[:-1]:
        owner = getattr(owner, part)
    if inspect.isclass(owner):
        assert hasattr(owner, parts[-1]), f"{module_name}.{qualname} does not exist"
        return owner, parts[-1]
    return getattr(owner, parts[-1]), None


@pytest.mark.parametrize(
    ("module_name", "qualname", "spec"),
    [pytest.param(m, q, s, id=f"{m.rsplit('.', 1)[-1]}.{q}") for m, q, s in SIGNATURES],
)
def test_public_api_signature_matches_reference(module_name, qualname, spec):
    owner, method = _resolve(module_name, qualname)

    actual = actual_signature(owner, method)

    problems = signature_problems(parse_spec(spec), actual)
    assert not problems, (
        f"{module_name}.{qualname}{describe(actual)} differs from API.md ({spec}): "
        + "; ".join(problems)
    )


@pytest.mark.parametrize(
    ("module_name", "class_name", "names"),
    [pytest.param(m, c, n, id=f"{m.rsplit('.', 1)[-1]}.{c}") for m, c, n in PROPERTIES],
)
def test_public_api_properties_exist(module_name, class_name, names):
    cls = getattr(importlib.import_module(module_name), class_name)

    missing = [n for n in names if not isinstance(inspect.getattr_static(cls, n, None), property)]

    assert not missing, f"{module_name}.{class_name} lacks properties {missing}"


@pytest.mark.parametrize(("module_name", "expected"), EXACT_ALL)
def test_public_api_all_matches_reference(module_name, expected):
    module = importlib.import_module(module_name)

    assert set(module.__all__) == expected


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_public_api_every_all_name_exists(module_name):
    module = importlib.import_module(module_name)

    assert hasattr(module, "__all__"), f"{module_name} declares no __all__"
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing, f"{module_name}.__all__ names missing attributes: {missing}"


_PACKAGE_PROBE = """
import json, sys, types
import durabletask
result = {"worker_imported": "durabletask.worker" in sys.modules,
          "package_name": durabletask.PACKAGE_NAME, "submodules": {}}
for name in ("entities", "grpc_options", "internal", "payload", "serialization", "task",
             "worker"):
    try:
        result["submodules"][name] = isinstance(getattr(durabletask, name), types.ModuleType)
    except Exception as exc:
        result["submodules"][name] = repr(exc)
print(json.dumps(result))
"""


@pytest.mark.slow
def test_public_api_package_import_is_lazy_and_exposes_submodules():
    completed = subprocess.run(
        [sys.executable, "-c", _PACKAGE_PROBE], capture_output=True, text=True, timeout=60,
        check=False, cwd=os.fspath(REPO_ROOT),
    )

    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["worker_imported"] is False, "import durabletask imported durabletask.worker"
    assert result["package_name"] == "durabletask"
    assert all(v is True for v in result["submodules"].values()), result["submodules"]
