"""What every dashboard request passes: JSON errors, the token check and browser safety.

* Every failure is a JSON answer ``{"error": "..."}`` with a 4xx status (5xx only for a
  bug), and the sidecar serves on.
* With ``require_token`` set, ``/api/`` requests need ``Authorization: Bearer <token>``
  (the same check as the gRPC port); the page shell itself holds no data.
* A page on another site must not drive the API through the user's browser: a POST must
  be ``application/json`` (which browsers cannot send cross-site without a preflight that
  this server never approves), an ``Origin`` header must name this server, and on a
  loopback bind the ``Host`` header must be a loopback name (defeats DNS rebinding).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import grpc
from aiohttp import web
from aiohttp.typedefs import Middleware

from durabletask.sidecar.errors import SidecarRequestError
from durabletask.sidecar.hubs import check_authorization

logger = logging.getLogger("durabletask.sidecar.dashboard")

MAX_QUERY_STRING_BYTES = 4096
"""Longer query strings are answered 414 (nothing the page sends comes close)."""

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
"""Host names that stay on this machine."""

_HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ALREADY_EXISTS: 409,
}

# The page loads only its own files; nothing inline can run even if data were injected.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(status: int, message: str, **headers: str) -> web.Response:
    """A JSON error answer."""
    return web.json_response({"error": message}, status=status, headers=headers or None)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure of a handler into a JSON error answer."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        return error_response(exc.status, _reason(exc), **headers)
    except SidecarRequestError as exc:
        return error_response(_HTTP_STATUS.get(exc.code, 400), str(exc))
    except Exception as exc:  # noqa: BLE001 - a bug must not take the server down
        logger.exception("dashboard request %s %s failed", request.method, request.path)
        return error_response(500, f"the dashboard failed on this request: {exc!r}")


def _reason(exc: web.HTTPException) -> str:
    if exc.status == 413:
        return f"the request body is too large: {exc.text}"
    if exc.text and exc.text != f"{exc.status}: {exc.reason}":
        return exc.text  # a message of ours, or aiohttp's own (e.g. the body size limit)
    if exc.status == 404:
        return "no such page or API route"
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(exc.allowed_methods))
        return f"{exc.method} is not allowed here (allowed: {allowed})"
    return exc.text or exc.reason


def make_guard(require_token: bool | str, loopback_only: bool) -> Middleware:
    """The middleware that checks size, host, origin, content type and token.

    Args:
        require_token: The sidecar's token setting (see ``check_authorization``).
        loopback_only: The server is bound to loopback: refuse other ``Host`` names.
    """

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        refusal = _refusal(request, loopback_only)
        if refusal is not None:
            return refusal
        if request.path.startswith("/api/"):
            refused = _token_refusal(request.headers.get("Authorization", ""), require_token)
            if refused is not None:
                return refused
        return await handler(request)

    return guard


def _token_refusal(authorization: str, require_token: bool | str) -> web.Response | None:
    if check_authorization({"authorization": authorization}, require_token) is None:
        return None
    if authorization.strip():
        message = "the token in the Authorization header was not accepted by this sidecar"
    else:
        message = (
            "this sidecar requires a token: sign in on the dashboard page, or send the "
            "header 'Authorization: Bearer <token>'"
        )
    return error_response(401, message, **{"WWW-Authenticate": 'Bearer realm="durabletask"'})


def _refusal(request: web.Request, loopback_only: bool) -> web.Response | None:
    if len(request.query_string.encode()) > MAX_QUERY_STRING_BYTES:
        return error_response(
            414, f"the query string is longer than {MAX_QUERY_STRING_BYTES} bytes"
        )
    host = _host_name(request.host)
    if loopback_only and host not in LOOPBACK_HOSTS:
        return error_response(
            421, f"this dashboard serves loopback host names only, not {host!r}; open it "
            f"as http://127.0.0.1:<port>/"
        )
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        return error_response(403, "requests from other sites are refused")
    if request.method == "POST" and request.content_type != "application/json":
        return error_response(415, "send the request body as application/json")
    return None


def _host_name(host: str) -> str:
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


async def add_security_headers(  # noqa: ASYNC124 - aiohttp signals await their receivers
    request: web.Request, response: web.StreamResponse
) -> None:
    """``on_response_prepare`` hook: the same safety headers on every answer."""
    for name, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object; an empty body is ``{}``.

    Raises:
        web.HTTPBadRequest: The body is not a JSON object (its message says why).
    """
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise web.HTTPBadRequest(text=f"the request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text=f"the request body must be a JSON object, not {type(body).__name__}"
        )
    return body
