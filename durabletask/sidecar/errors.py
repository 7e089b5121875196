"""Errors the sidecar core raises; the servicer turns each into a gRPC status."""

from __future__ import annotations

import grpc


class SidecarRequestError(Exception):
    """A request the sidecar refuses, carrying the gRPC status code to answer with.

    Subclasses pick the status code; the message says what was wrong and what to do.
    """

    code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT


class InvalidRequestError(SidecarRequestError):
    """The request is malformed (``INVALID_ARGUMENT``)."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class InstanceNotFoundError(SidecarRequestError):
    """The named orchestration instance does not exist (``NOT_FOUND``)."""

    code = grpc.StatusCode.NOT_FOUND


class InstanceStateError(SidecarRequestError):
    """The instance is in a state that does not allow the operation (``FAILED_PRECONDITION``)."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class InstanceExistsError(SidecarRequestError):
    """An instance with the requested id already exists (``ALREADY_EXISTS``)."""

    code = grpc.StatusCode.ALREADY_EXISTS


class CompletionNotStoredError(SidecarRequestError):
    """A worker's completion could not be committed (``UNAVAILABLE``).

    Its work item is delivered again, so the worker may let the completion go.
    """

    code = grpc.StatusCode.UNAVAILABLE


class TooManyOrphanEventsError(SidecarRequestError):
    """Too many events are kept for instances that do not exist (``RESOURCE_EXHAUSTED``)."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
