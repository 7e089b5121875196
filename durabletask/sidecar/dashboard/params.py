"""Reading what every dashboard route takes: the task hub, page sizes, search text, body fields."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from durabletask.sidecar import validation
from durabletask.sidecar.task_hub import TaskHubCore
from durabletask.sidecar.errors import InvalidRequestError
from durabletask.sidecar.hubs import TaskHubs

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_SEARCH_LENGTH = validation.MAX_INSTANCE_ID_LENGTH


def hub_core(hubs: TaskHubs, request: web.Request) -> TaskHubCore:
    """The core of the task hub named by ``?hub=`` (the only hub when none are named).

    Raises:
        InvalidRequestError: The sidecar serves named hubs and none was chosen.
        web.HTTPNotFound: No hub has that name.
    """
    hub = request.query.get("hub", "")
    if not hubs.names:
        return hubs.default
    served = ", ".join(hubs.names)
    if not hub:
        raise InvalidRequestError(f"choose a task hub with ?hub=NAME; this sidecar serves "
                                  f"{served}")
    core = hubs.cores.get(hub)
    if core is None:
        raise web.HTTPNotFound(text=f"task hub {hub!r} not found; this sidecar serves {served}")
    return core


def page_size(value: str | None) -> int:
    """The ``limit`` parameter: 1 to :data:`MAX_PAGE_SIZE`, :data:`DEFAULT_PAGE_SIZE` if absent."""
    if value is None:
        return DEFAULT_PAGE_SIZE
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE_SIZE:
        raise InvalidRequestError(f"limit must be a whole number from 1 to {MAX_PAGE_SIZE}, "
                                  f"got {value!r}")
    return int(value)


def search(value: str) -> str | None:
    """The ``q`` parameter, stripped; None when empty."""
    if len(value) > MAX_SEARCH_LENGTH:
        raise InvalidRequestError(f"the search text is limited to {MAX_SEARCH_LENGTH} characters")
    return value.strip() or None


def flag(value: str | None, field: str) -> bool:
    """A true/false query parameter (``true``/``1``, ``false``/``0``; absent is false)."""
    if value is None or value.lower() in ("", "false", "0"):
        return False
    if value.lower() in ("true", "1"):
        return True
    raise InvalidRequestError(f"{field} must be true or false, got {value!r}")


def text(body: dict[str, Any], field: str) -> str | None:
    """An optional string field of a JSON body; None when absent or empty."""
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise InvalidRequestError(f"{field!r} must be a string")
    return value or None


def payload(body: dict[str, Any], field: str) -> str | None:
    """A JSON value of the body, serialized as the SDK's JSON data converter would."""
    return json.dumps(body[field]) if body.get(field) is not None else None
