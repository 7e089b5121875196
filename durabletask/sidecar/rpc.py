"""The error boundary of every unary RPC handler of the sidecar's servicers."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc

from durabletask.sidecar.errors import SidecarRequestError

logger = logging.getLogger("durabletask.sidecar")

_Self = TypeVar("_Self")
_Req = TypeVar("_Req")
_Resp = TypeVar("_Resp")
Handler = Callable[[_Self, _Req, Any], Awaitable[_Resp]]


def unary(method: Handler[_Self, _Req, _Resp]) -> Handler[_Self, _Req, _Resp]:
    """Turn sidecar errors into gRPC statuses; the server keeps serving."""

    @functools.wraps(method)
    async def wrapper(self: _Self, request: _Req, context: Any) -> _Resp:
        try:
            return await method(self, request, context)
        except SidecarRequestError as exc:
            await context.abort(exc.code, str(exc))
        except TimeoutError as exc:
            await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, str(exc))
        except (grpc.aio.AbortError, asyncio.CancelledError):
            raise
        except Exception as exc:
            logger.exception("sidecar %s failed", method.__name__)
            await context.abort(
                grpc.StatusCode.INTERNAL, f"{method.__name__} failed in the sidecar: {exc!r}"
            )
        raise AssertionError("unreachable: context.abort raises")

    return wrapper


def optional(message: Any, field: str) -> str | None:
    """The value of a ``StringValue`` field, or None when it is absent."""
    return str(getattr(message, field).value) if message.HasField(field) else None
