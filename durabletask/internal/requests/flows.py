"""Every client operation as a sans-I/O flow: build requests, map responses, no I/O."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from durabletask.history import HistoryEvent, history_event_from_proto
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.requests import inputs
from durabletask.internal.requests.calls import Call, ClientSettings, Flow
from durabletask.internal.requests.models import (
    OrchestrationQuery,
    OrchestrationState,
    OrchestrationStatus,
    Page,
    PurgeInstancesResult,
    new_orchestration_state,
    new_purge_instances_result,
    optional_string,
    parse_orchestration_state,
)

__all__ = [
    "get_all_orchestration_states",
    "get_orchestration_history",
    "get_orchestration_state",
    "list_instance_ids",
    "purge_orchestration",
    "purge_orchestrations_by",
    "raise_orchestration_event",
    "restart_orchestration",
    "resume_orchestration",
    "rewind_orchestration",
    "schedule_new_orchestration",
    "suspend_orchestration",
    "terminate_orchestration",
    "wait_for_orchestration",
]

# A sidecar that keeps returning the same token would otherwise make us loop forever.
_MAX_QUERY_PAGES = 100_000


def _statuses(statuses: Sequence[OrchestrationStatus] | None) -> list[Any]:
    return [OrchestrationStatus(s).value for s in statuses or ()]


def schedule_new_orchestration(
    settings: ClientSettings,
    orchestrator: Callable[..., Any] | str,
    *,
    input: Any = None,
    instance_id: str | None = None,
    start_at: datetime | None = None,
    reuse_id_policy: pb.OrchestrationIdReusePolicy | None = None,
    tags: dict[str, str] | None = None,
    version: str | None = None,
) -> Flow[str]:
    """Start a new orchestration instance; returns its id."""
    name = inputs.orchestrator_name(orchestrator)
    instance_id = inputs.validate_instance_id(
        inputs.new_instance_id() if instance_id is None else instance_id
    )
    request = pb.CreateInstanceRequest(
        instanceId=instance_id,
        name=name,
        version=inputs.string_value(version if version is not None else settings.default_version),
        input=inputs.string_value(
            inputs.serialize_argument(settings.data_converter, input, argument="input")
        ),
        scheduledStartTimestamp=inputs.to_timestamp(start_at, argument="start_at"),
        tags=dict(tags or {}),
    )
    if reuse_id_policy is not None:
        request.orchestrationIdReusePolicy.CopyFrom(reuse_id_policy)
    version_sent = request.version.value if request.HasField("version") else None
    with settings.tracing.scheduling(name, instance_id, version_sent) as trace_context:
        if trace_context is not None:
            request.parentTraceContext.CopyFrom(trace_context)
        response = yield Call("StartInstance", request, instance_id)
    return str(response.instanceId or instance_id)


def get_orchestration_state(
    settings: ClientSettings, instance_id: str, *, fetch_payloads: bool = True
) -> Flow[OrchestrationState | None]:
    """Fetch one instance's state; None when it does not exist."""
    instance_id = inputs.validate_instance_id(instance_id)
    request = pb.GetInstanceRequest(instanceId=instance_id, getInputsAndOutputs=fetch_payloads)
    response = yield Call("GetInstance", request, instance_id)
    return new_orchestration_state(instance_id, response, settings.data_converter)


def wait_for_orchestration(
    settings: ClientSettings,
    instance_id: str,
    *,
    completion: bool,
    fetch_payloads: bool,
    timeout: float | None,
) -> Flow[OrchestrationState | None]:
    """Long-poll until the instance starts (or completes); the deadline is ``timeout``."""
    instance_id = inputs.validate_instance_id(instance_id)
    timeout = inputs.wait_timeout(timeout)
    method = "WaitForInstanceCompletion" if completion else "WaitForInstanceStart"
    request = pb.GetInstanceRequest(instanceId=instance_id, getInputsAndOutputs=fetch_payloads)
    response = yield Call(method, request, instance_id, timeout=timeout)
    return new_orchestration_state(instance_id, response, settings.data_converter)


def get_orchestration_history(
    settings: ClientSettings,
    instance_id: str,
    *,
    execution_id: str | None = None,
    for_work_item_processing: bool = False,
) -> Flow[list[HistoryEvent]]:
    """Stream an instance's history and convert every event."""
    instance_id = inputs.validate_instance_id(instance_id)
    request = pb.StreamInstanceHistoryRequest(
        instanceId=instance_id,
        executionId=inputs.string_value(execution_id),
        forWorkItemProcessing=for_work_item_processing,
    )
    chunks = yield Call("StreamInstanceHistory", request, instance_id, streaming=True)
    return [
        history_event_from_proto(event, settings.data_converter)
        for chunk in chunks
        for event in chunk.events
    ]


def list_instance_ids(
    settings: ClientSettings,
    runtime_status: list[OrchestrationStatus] | None = None,
    completed_time_from: datetime | None = None,
    completed_time_to: datetime | None = None,
    page_size: int | None = None,
    continuation_token: str | None = None,
) -> Flow[Page[str]]:
    """Fetch one page of instance ids."""
    if page_size is not None and page_size <= 0:
        raise ValueError(f"page_size must be None or > 0, got {page_size!r}")
    request = pb.ListInstanceIdsRequest(
        runtimeStatus=_statuses(runtime_status),
        completedTimeFrom=inputs.to_timestamp(completed_time_from, argument="completed_time_from"),
        completedTimeTo=inputs.to_timestamp(completed_time_to, argument="completed_time_to"),
        pageSize=page_size or 0,
        lastInstanceKey=inputs.string_value(continuation_token),
    )
    response = yield Call("ListInstanceIds", request)
    token = optional_string(response, "lastInstanceKey")
    return Page(items=list(response.instanceIds), continuation_token=token or None)


def _instance_query(query: OrchestrationQuery) -> pb.InstanceQuery:
    max_count = query.max_instance_count
    if max_count is not None and max_count <= 0:
        raise ValueError(f"max_instance_count must be None or > 0, got {max_count!r}")
    return pb.InstanceQuery(
        runtimeStatus=_statuses(query.runtime_status),
        createdTimeFrom=inputs.to_timestamp(query.created_time_from, argument="created_time_from"),
        createdTimeTo=inputs.to_timestamp(query.created_time_to, argument="created_time_to"),
        maxInstanceCount=max_count or 0,
        fetchInputsAndOutputs=query.fetch_inputs_and_outputs,
        instanceIdPrefix=inputs.string_value(query.instance_id_prefix),
    )


def get_all_orchestration_states(
    settings: ClientSettings, orchestration_query: OrchestrationQuery | None = None
) -> Flow[list[OrchestrationState]]:
    """Query instances, following continuation tokens until the last page."""
    query = _instance_query(orchestration_query or OrchestrationQuery())
    states: list[OrchestrationState] = []
    seen_tokens: set[str] = set()
    for _ in range(_MAX_QUERY_PAGES):
        response = yield Call("QueryInstances", pb.QueryInstancesRequest(query=query))
        states.extend(
            parse_orchestration_state(state, settings.data_converter)
            for state in response.orchestrationState
        )
        token = optional_string(response, "continuationToken")
        if not token:
            break
        if token in seen_tokens:
            settings.logger.warning(
                "Received the same continuation token value %s again, stopping to avoid an "
                "infinite loop.", token)
            break
        # The same INFO line as 1.12.0 (programs and tests look for it).
        settings.logger.info(
            "Received continuation token with value %s, fetching next page...", token)
        seen_tokens.add(token)
        query.continuationToken.value = token
    return states


def raise_orchestration_event(
    settings: ClientSettings, instance_id: str, event_name: str, *, data: Any = None
) -> Flow[None]:
    """Send an external event to an instance."""
    instance_id = inputs.validate_instance_id(instance_id)
    request = pb.RaiseEventRequest(
        instanceId=instance_id,
        name=inputs.validate_name(event_name, argument="event_name"),
        input=inputs.string_value(
            inputs.serialize_argument(settings.data_converter, data, argument="data")
        ),
    )
    with settings.tracing.raising_event(request.name, instance_id):
        yield Call("RaiseEvent", request, instance_id)


def terminate_orchestration(
    settings: ClientSettings, instance_id: str, *, output: Any = None, recursive: bool = True
) -> Flow[None]:
    """Terminate an instance (and its sub-orchestrations when ``recursive``)."""
    instance_id = inputs.validate_instance_id(instance_id)
    request = pb.TerminateRequest(
        instanceId=instance_id,
        output=inputs.string_value(
            inputs.serialize_argument(settings.data_converter, output, argument="output")
        ),
        recursive=recursive,
    )
    yield Call("TerminateInstance", request, instance_id)


def suspend_orchestration(
    settings: ClientSettings, instance_id: str, *, reason: str | None = None
) -> Flow[None]:
    """Suspend an instance."""
    instance_id = inputs.validate_instance_id(instance_id)
    request = pb.SuspendRequest(instanceId=instance_id, reason=inputs.string_value(reason))
    yield Call("SuspendInstance", request, instance_id)


def resume_orchestration(
    settings: ClientSettings, instance_id: str, *, reason: str | None = None
) -> Flow[None]:
    """Resume a suspended instance."""
    instance_id = inputs.validate_instance_id(instance_id)
    request = pb.ResumeRequest(instanceId=instance_id, reason=inputs.string_value(reason))
    yield Call("ResumeInstance", request, instance_id)


def rewind_orchestration(
    settings: ClientSettings, instance_id: str, *, reason: str | None = None
) -> Flow[None]:
    """Rewind a failed instance."""
    instance_id = inputs.validate_instance_id(instance_id)
    request = pb.RewindInstanceRequest(instanceId=instance_id, reason=inputs.string_value(reason))
    yield Call("RewindInstance", request, instance_id)


def restart_orchestration(
    settings: ClientSettings, instance_id: str, *, restart_with_new_instance_id: bool = False
) -> Flow[str]:
    """Restart an instance with its original input; returns the (possibly new) id."""
    instance_id = inputs.validate_instance_id(instance_id)
    request = pb.RestartInstanceRequest(
        instanceId=instance_id, restartWithNewInstanceId=restart_with_new_instance_id
    )
    response = yield Call("RestartInstance", request, instance_id)
    return str(response.instanceId or instance_id)


def purge_orchestration(
    settings: ClientSettings, instance_id: str, recursive: bool = True
) -> Flow[PurgeInstancesResult]:
    """Delete one instance's state and history."""
    instance_id = inputs.validate_instance_id(instance_id)
    request = pb.PurgeInstancesRequest(instanceId=instance_id, recursive=recursive)
    response = yield Call("PurgeInstances", request, instance_id)
    return new_purge_instances_result(response)


def purge_orchestrations_by(
    settings: ClientSettings,
    created_time_from: datetime | None = None,
    created_time_to: datetime | None = None,
    runtime_status: list[OrchestrationStatus] | None = None,
    recursive: bool = False,
    timeout: timedelta | None = None,
) -> Flow[PurgeInstancesResult]:
    """Delete every instance matching the filter (the sidecar may stop at ``timeout``)."""
    purge_filter = pb.PurgeInstanceFilter(
        createdTimeFrom=inputs.to_timestamp(created_time_from, argument="created_time_from"),
        createdTimeTo=inputs.to_timestamp(created_time_to, argument="created_time_to"),
        runtimeStatus=_statuses(runtime_status),
    )
    deadline = None
    if timeout is not None:
        if not isinstance(timeout, timedelta) or timeout <= timedelta(0):
            raise ValueError(f"timeout must be a timedelta > 0, got {timeout!r}")
        purge_filter.timeout.CopyFrom(inputs.to_duration(timeout))
        # Leave the sidecar time to answer with a partial result after its own timeout.
        deadline = timeout.total_seconds() + 30.0
    request = pb.PurgeInstancesRequest(purgeInstanceFilter=purge_filter, recursive=recursive)
    response = yield Call("PurgeInstances", request, timeout=deadline)
    return new_purge_instances_result(response)
