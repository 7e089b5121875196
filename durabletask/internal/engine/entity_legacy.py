"""Entity responses in the Durable Functions ("old protocol") shape.

Behind the Azure Functions extension, entity messages are recorded as ``eventSent``
events whose JSON input carries the message ``id`` (the request or critical-section id),
and the answers arrive as ``eventRaised`` events named by that id, with a
``ResponseMessage`` JSON body. The official SDK accepts both shapes; these helpers read
the old one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format

from durabletask.internal.proto import orchestrator_service_pb2 as pb

__all__ = ["is_error_response", "message_id_of_event_sent", "response_failure_details"]


def message_id_of_event_sent(event: pb.HistoryEvent) -> str:
    """Return the ``id`` in an ``eventSent`` entity message's JSON input.

    Raises:
        RuntimeError: The input is not JSON with an ``id``.
    """
    payload = event.eventSent.input.value
    try:
        return str(json.loads(payload)["id"])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise RuntimeError(
            f"Could not parse event ID from eventSent input '{payload}'"
        ) from exc


def is_error_response(response: Mapping[str, Any]) -> bool:
    """True when a ``ResponseMessage`` reports a failed operation.

    Failures are marked by an ``exceptionType`` key, or carry a structured
    ``failureDetails`` object (the newer shape).
    """
    return "exceptionType" in response or isinstance(response.get("failureDetails"), dict)


def response_failure_details(
    response: Mapping[str, Any], error_content: Any
) -> pb.TaskFailureDetails:
    """Build failure details from a failed ``ResponseMessage``.

    A structured ``failureDetails`` object wins; otherwise the type is ``exceptionType``
    and the message is the decoded ``result`` (``error_content``).
    """
    structured = response.get("failureDetails")
    if isinstance(structured, dict):
        return _from_core_failure(structured)
    message = "" if error_content is None else str(error_content)
    return pb.TaskFailureDetails(
        errorType=str(response.get("exceptionType") or ""), errorMessage=message
    )


def _from_core_failure(data: Mapping[str, Any]) -> pb.TaskFailureDetails:
    """Convert a serialized DurableTask.Core ``FailureDetails`` object."""
    details = pb.TaskFailureDetails(
        errorType=str(data.get("ErrorType") or ""),
        errorMessage=str(data.get("ErrorMessage") or ""),
        isNonRetriable=bool(data.get("IsNonRetriable", False)),
    )
    stack_trace = data.get("StackTrace")
    if stack_trace is not None:
        details.stackTrace.value = str(stack_trace)
    inner = data.get("InnerFailure")
    if isinstance(inner, dict):
        details.innerFailure.CopyFrom(_from_core_failure(inner))
    properties = data.get("Properties")
    if isinstance(properties, Mapping):
        for key, value in properties.items():
            try:
                json_format.ParseDict(value, details.properties[str(key)])
            except (json_format.ParseError, TypeError):
                details.properties[str(key)].string_value = str(value)
    return details
