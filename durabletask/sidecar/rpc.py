"""The error boundary of the sidecar's handlers: which status each failure answers."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import grpc

from durabletask.sidecar.errors import SidecarRequestError

logger = logging.getLogger("durabletask.sidecar")

_Self = TypeVar("_Self")
_Req = TypeVar("_Req")
_Resp = TypeVar("_Resp")
Handler = Callable[[_Self, _Req, Any], Awaitable[_Resp]]


def failure_status(exc: Exception, rpc_name: str) -> tuple[grpc.StatusCode, str]:
    """The status a handler of ``rpc_name`` answers for ``exc`` (unexpected ones are logged).

    The unary handlers abort with it; the completion stream acknowledges with it, so a
    streamed completion fails exactly as its unary call would.
    """
    if isinstance(exc, SidecarRequestError):
        return exc.code, str(exc)
    if isinstance(exc, TimeoutError):
        return grpc.StatusCode.DEADLINE_EXCEEDED, str(exc)
    logger.exception("sidecar %s failed", rpc_name)
    return grpc.StatusCode.INTERNAL, f"{rpc_name} failed in the sidecar: {exc!r}"


def unary(method: Handler[_Self, _Req, _Resp]) -> Handler[_Self, _Req, _Resp]:
    """Turn sidecar errors into gRPC statuses; the server keeps serving."""

    @functools.wraps(method)
    async def wrapper(self: _Self, request: _Req, context: Any) -> _Resp:
        try:
            return await method(self, request, context)
        except (grpc.aio.AbortError, asyncio.CancelledError):
            raise
        except Exception as exc:
            await context.abort(*failure_status(exc, method.__name__))
        raise AssertionError("unreachable: context.abort raises")

    return wrapper


def optional(message: Any, field: str) -> str | None:
    """The value of a ``StringValue`` field, or None when it is absent."""
    return str(getattr(message, field).value) if message.HasField(field) else None


class _Undecodable:
    """Stands in for a request whose bytes did not decode (see :func:`guard_decoding`)."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


def _safe_deserializer(
    deserializer: Callable[[bytes], Any], method: str
) -> Callable[[bytes], Any]:
    def decode(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception as exc:  # noqa: BLE001 - any decoding failure is the caller's bytes
            return _Undecodable(
                f"{method}: the request could not be decoded ({type(exc).__name__}: "
                f"{str(exc)[:200]}); send the serialized request message of {method}"
            )

    return decode


def _guard_one(
    handler: grpc.RpcMethodHandler[Any, Any], method: str
) -> grpc.RpcMethodHandler[Any, Any]:
    if handler.request_streaming or handler.request_deserializer is None:
        return handler  # the service has no client-streaming methods
    deserializer = _safe_deserializer(handler.request_deserializer, method)
    if handler.response_streaming:
        inner_stream = handler.unary_stream

        async def stream(request: Any, context: Any) -> Any:
            if isinstance(request, _Undecodable):
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.message)
            async for item in inner_stream(request, context):
                yield item

        guarded: grpc.RpcMethodHandler[Any, Any] = handler._replace(
            request_deserializer=deserializer, unary_stream=stream)
        return guarded
    inner_unary = handler.unary_unary

    async def unary_call(request: Any, context: Any) -> Any:
        if isinstance(request, _Undecodable):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.message)
        return await inner_unary(request, context)

    guarded_unary: grpc.RpcMethodHandler[Any, Any] = handler._replace(
        request_deserializer=deserializer, unary_unary=unary_call)
    return guarded_unary


def guard_decoding(
    handlers: Mapping[str, grpc.RpcMethodHandler[Any, Any]],
) -> dict[str, grpc.RpcMethodHandler[Any, Any]]:
    """Return ``handlers`` answering undecodable request bytes with ``INVALID_ARGUMENT``.

    gRPC itself answers a request its deserializer cannot read with ``UNKNOWN`` and a
    Python class name; a malformed request is the caller's error and says so.

    Args:
        handlers: Method name -> handler, as the generated ``add_*_to_server`` builds them.
    """
    return {name: _guard_one(handler, name) for name, handler in handlers.items()}
