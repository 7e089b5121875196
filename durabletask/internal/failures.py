"""Conversion between exceptions, ``FailureDetails`` and ``pb.TaskFailureDetails``."""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from google.protobuf import json_format, struct_pb2, wrappers_pb2

from durabletask.internal.proto import orchestrator_service_pb2 as pb

if TYPE_CHECKING:
    from durabletask.exception_properties import ExceptionPropertiesProvider
    from durabletask.task import FailureDetails


def qualified_type_name(exc_type: type[BaseException]) -> str:
    """Return ``module.QualName`` for an exception type, e.g. ``builtins.ValueError``."""
    return f"{exc_type.__module__}.{exc_type.__qualname__}"


def _properties_to_proto(properties: Mapping[str, Any], out: Any) -> None:
    for key, value in properties.items():
        proto_value = struct_pb2.Value()
        try:
            json_format.ParseDict(value, proto_value)
        except (json_format.ParseError, TypeError):
            proto_value.string_value = str(value)
        out[str(key)].CopyFrom(proto_value)


def failure_details_from_exception(
    exc: BaseException,
    *,
    properties_provider: ExceptionPropertiesProvider | None = None,
) -> pb.TaskFailureDetails:
    """Build wire failure details from an exception, nesting its cause as inner failure.

    A ``TaskFailedError`` keeps the failure it carries as its inner failure, so the
    original error type of a failed activity or sub-orchestration is not lost.
    """
    details = pb.TaskFailureDetails(
        errorType=qualified_type_name(type(exc)),
        errorMessage=str(exc),
        stackTrace=wrappers_pb2.StringValue(
            value="".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        ),
    )
    inner = _inner_failure_of(exc, properties_provider)
    if inner is not None:
        details.innerFailure.CopyFrom(inner)
    if properties_provider is not None:
        properties = properties_provider.get_exception_properties(exc)
        if properties:
            _properties_to_proto(properties, details.properties)
    return details


def _inner_failure_of(
    exc: BaseException, provider: ExceptionPropertiesProvider | None
) -> pb.TaskFailureDetails | None:
    from durabletask.task import TaskFailedError  # local: task imports this module

    if isinstance(exc, TaskFailedError):
        return failure_details_to_proto(exc.details)
    cause = exc.__cause__
    if cause is not None:
        return failure_details_from_exception(cause, properties_provider=provider)
    return None


def failure_details_to_proto(details: FailureDetails) -> pb.TaskFailureDetails:
    """Convert a ``FailureDetails`` value object to its wire form."""
    out = pb.TaskFailureDetails(errorType=details.error_type, errorMessage=details.message)
    if details.stack_trace is not None:
        out.stackTrace.value = details.stack_trace
    if details.inner_failure is not None:
        out.innerFailure.CopyFrom(failure_details_to_proto(details.inner_failure))
    if details.properties:
        _properties_to_proto(details.properties, out.properties)
    return out


def failure_details_from_proto(details: pb.TaskFailureDetails) -> FailureDetails:
    """Convert wire failure details (with inner failures) to a ``FailureDetails``."""
    from durabletask.task import FailureDetails

    inner = None
    if details.HasField("innerFailure"):
        inner = failure_details_from_proto(details.innerFailure)
    properties = None
    if details.properties:
        properties = {
            key: json_format.MessageToDict(value) for key, value in details.properties.items()
        }
    return FailureDetails(
        message=details.errorMessage,
        error_type=details.errorType,
        stack_trace=details.stackTrace.value if details.HasField("stackTrace") else None,
        inner_failure=inner,
        properties=properties,
    )
