"""The client's public value objects and the sync/async API surface."""

from __future__ import annotations

import inspect
from datetime import datetime

import pytest

from durabletask import client
from durabletask.errors import DurableTaskError
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.task import FailureDetails


def test_orchestration_status_values_and_str_match_the_proto() -> None:
    assert {s.name: s.value for s in client.OrchestrationStatus} == {
        "RUNNING": 0, "COMPLETED": 1, "CONTINUED_AS_NEW": 2, "FAILED": 3, "TERMINATED": 5,
        "PENDING": 6, "SUSPENDED": 7,
    }
    assert str(client.OrchestrationStatus.CONTINUED_AS_NEW) == "CONTINUED_AS_NEW"


def _state(status: client.OrchestrationStatus,
           failure: FailureDetails | None = None) -> client.OrchestrationState:
    return client.OrchestrationState(
        "id", "name", status, datetime(2024, 1, 1), datetime(2024, 1, 1), None, None, None,
        failure,
    )


def test_raise_if_failed_raises_with_failure_details() -> None:
    failure = FailureDetails("boom", "builtins.ValueError", None)
    with pytest.raises(client.OrchestrationFailedError, match="'id' failed: boom") as info:
        _state(client.OrchestrationStatus.FAILED, failure).raise_if_failed()
    assert info.value.failure_details is failure
    assert isinstance(info.value, DurableTaskError)


def test_raise_if_failed_is_silent_for_completed() -> None:
    _state(client.OrchestrationStatus.COMPLETED).raise_if_failed()


def test_parse_orchestration_state_maps_failure_details() -> None:
    state = pb.OrchestrationState(
        instanceId="i", name="n", orchestrationStatus=pb.ORCHESTRATION_STATUS_FAILED,
        failureDetails=pb.TaskFailureDetails(errorType="builtins.KeyError", errorMessage="k"),
    )
    parsed = client.parse_orchestration_state(state)
    assert parsed.failure_details == FailureDetails("k", "builtins.KeyError", None)
    assert parsed.runtime_status is client.OrchestrationStatus.FAILED


def test_parse_orchestration_state_reads_canceled_as_terminated() -> None:
    state = pb.OrchestrationState(orchestrationStatus=pb.ORCHESTRATION_STATUS_CANCELED)
    assert client.parse_orchestration_state(state).runtime_status is (
        client.OrchestrationStatus.TERMINATED
    )


def test_new_orchestration_state_is_none_when_not_exists() -> None:
    assert client.new_orchestration_state("i", pb.GetInstanceResponse(exists=False)) is None


def test_query_dataclass_defaults_match_the_official_api() -> None:
    query = client.OrchestrationQuery()
    assert (query.max_instance_count, query.fetch_inputs_and_outputs) == (2147483647, False)
    entity_query = client.EntityQuery()
    assert (entity_query.include_state, entity_query.include_transient) == (True, False)


def _public_methods(cls: type) -> dict[str, object]:
    return {n: getattr(cls, n) for n in dir(cls)
            if not n.startswith("_") and callable(getattr(cls, n))}


def test_sync_and_async_clients_have_identical_signatures() -> None:
    sync_methods = _public_methods(client.TaskHubGrpcClient)
    async_methods = _public_methods(client.AsyncTaskHubGrpcClient)
    assert sync_methods.keys() == async_methods.keys()
    for name, method in sync_methods.items():
        assert inspect.signature(method) == inspect.signature(async_methods[name]), name
        # Every call to the sidecar is a coroutine; reading local counters is not.
        is_local_accessor = name == "resiliency_stats"
        assert inspect.iscoroutinefunction(async_methods[name]) != is_local_accessor, name
    assert inspect.signature(client.TaskHubGrpcClient.__init__) == inspect.signature(
        client.AsyncTaskHubGrpcClient.__init__
    )


def test_client_signature_defaults_match_the_official_api() -> None:
    sig = inspect.signature(client.TaskHubGrpcClient.schedule_new_orchestration)
    assert list(sig.parameters) == [
        "self", "orchestrator", "input", "instance_id", "start_at", "reuse_id_policy", "tags",
        "version",
    ]
    wait = inspect.signature(client.TaskHubGrpcClient.wait_for_orchestration_start)
    assert wait.parameters["timeout"].default == 60
    assert wait.parameters["fetch_payloads"].default is False
    init = inspect.signature(client.TaskHubGrpcClient.__init__)
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for n, p in init.parameters.items()
               if n != "self")
    assert init.parameters["emit_trace_spans"].default is True


def test_client_rejects_bad_metadata() -> None:
    with pytest.raises(ValueError, match="metadata"):
        client.TaskHubGrpcClient(metadata=[("only-one",)])  # type: ignore[list-item]


def test_client_warns_that_log_handler_is_deprecated() -> None:
    import logging

    with pytest.warns(DeprecationWarning, match="log_handler and log_formatter"):
        c = client.TaskHubGrpcClient(log_handler=logging.NullHandler())
    c.close()
