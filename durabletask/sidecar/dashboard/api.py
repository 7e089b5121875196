"""The dashboard's JSON API: list, read and control instances through the sidecar core.

Every route reads and acts through the :class:`TaskHubCore` of the chosen task hub, the
same methods the gRPC servicer calls; nothing here touches a store.

``GET  /api/info``                          task hubs, statuses, whether a token is needed
``GET  /api/instances?status=&q=&limit=&cursor=``   one page, newest first
``GET  /api/counts?q=``                     instances by status
``GET  /api/instances/{id}``                one instance with payloads and failure
``GET  /api/instances/{id}/history``        its history as a timeline
``POST /api/instances/{id}/{action}``       raise-event, suspend, resume, terminate, purge,
                                            rewind (JSON body, see :data:`ACTIONS`)

Every route takes ``?hub=NAME`` where the sidecar serves named task hubs. The entity
routes are in :mod:`~durabletask.sidecar.dashboard.entity_api`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from durabletask.sidecar import validation
from durabletask.sidecar.task_hub import TaskHubCore
from durabletask.sidecar.encoding import decode_page_key, encode_page_key
from durabletask.sidecar.errors import InstanceNotFoundError, InvalidRequestError
from durabletask.sidecar.hubs import TaskHubs
from durabletask.sidecar.store.base import InstanceQuery, InstanceRecord
from durabletask.sidecar.dashboard import views
from durabletask.sidecar.dashboard.guard import read_json_object
from durabletask.sidecar.dashboard.params import hub_core, page_size, payload, search, text

_Action = Callable[[TaskHubCore, InstanceRecord, dict[str, Any]], dict[str, Any]]


class DashboardApi:
    """Route handlers over the task hubs of one sidecar."""

    def __init__(self, hubs: TaskHubs, require_token: bool | str) -> None:
        """Serve ``hubs``.

        Args:
            hubs: The sidecar's task hubs (their cores).
            require_token: Told to the page, so it asks for the token up front.
        """
        self._hubs = hubs
        self._require_token = require_token is not False

    def routes(self) -> list[web.RouteDef]:
        """The API's routes."""
        return [
            web.get("/api/info", self.info),
            web.get("/api/instances", self.list_instances),
            web.get("/api/counts", self.counts),
            web.get("/api/instances/{id}", self.instance),
            web.get("/api/instances/{id}/history", self.history),
            web.post("/api/instances/{id}/{action}", self.act),
        ]

    async def info(self, request: web.Request) -> web.Response:
        """The task hubs and statuses the page offers."""
        return web.json_response({
            "hubs": list(self._hubs.names),
            "statuses": sorted(views.STATUS_VALUES),
            "requireToken": self._require_token,
        })

    async def list_instances(self, request: web.Request) -> web.Response:
        """One page of instances, newest first, with the cursor of the next page."""
        core = self._core(request)
        limit = page_size(request.query.get("limit"))
        cursor = request.query.get("cursor")
        query = InstanceQuery(
            statuses=_statuses(request.query.get("status", "")),
            search=search(request.query.get("q", "")),
            descending=True,
            after=decode_page_key(cursor, "cursor") if cursor else None,
            limit=limit + 1,
        )
        rows = core.query(query)
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = encode_page_key(rows[-1].created_at, rows[-1].instance_id)
        return web.json_response({
            "instances": [views.instance_summary(r) for r in rows],
            "nextCursor": next_cursor,
        })

    async def counts(self, request: web.Request) -> web.Response:
        """How many instances of each status match the search."""
        core = self._core(request)
        counts = core.count_by_status(InstanceQuery(search=search(request.query.get("q", ""))))
        by_name = {views.STATUS_NAMES.get(k, str(k)): v for k, v in counts.items()}
        return web.json_response({"counts": by_name, "total": sum(counts.values())})

    async def instance(self, request: web.Request) -> web.Response:
        """One instance with input, output, custom status and failure details."""
        core = self._core(request)
        return web.json_response(views.instance_detail(_existing(core, request)))

    async def history(self, request: web.Request) -> web.Response:
        """The instance's history as timeline entries."""
        core = self._core(request)
        record = _existing(core, request)
        return web.json_response({
            "instanceId": record.instance_id,
            "events": views.timeline(core.history(record.instance_id)),
        })

    async def act(self, request: web.Request) -> web.Response:
        """Run one action on an instance through the core (as the gRPC API would)."""
        action = ACTIONS.get(request.match_info["action"])
        if action is None:
            raise web.HTTPNotFound(text=f"unknown action; use one of {', '.join(ACTIONS)}")
        core = self._core(request)
        record = _existing(core, request)
        body = await read_json_object(request)
        return web.json_response(action(core, record, body))

    def _core(self, request: web.Request) -> TaskHubCore:
        return hub_core(self._hubs, request)


def _existing(core: TaskHubCore, request: web.Request) -> InstanceRecord:
    instance_id = validation.instance_id(request.match_info["id"], "instance id")
    record = core.get_instance(instance_id)
    if record is None:
        raise InstanceNotFoundError(f"no orchestration instance with id {instance_id!r}")
    return record


def _statuses(value: str) -> frozenset[int] | None:
    names = [name.strip().upper() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in views.STATUS_VALUES]
    if unknown:
        raise InvalidRequestError(
            f"unknown status {', '.join(unknown)}; use {', '.join(sorted(views.STATUS_VALUES))}"
        )
    return frozenset(views.STATUS_VALUES[name] for name in names) or None


def _recursive(body: dict[str, Any]) -> bool:
    value = body.get("recursive", False)
    if not isinstance(value, bool):
        raise InvalidRequestError("'recursive' must be true or false")
    return value


def _raise_event(core: TaskHubCore, record: InstanceRecord, body: dict[str, Any]) -> dict[str, Any]:
    name = validation.name(text(body, "name") or "", "event name")
    core.raise_event(record.instance_id, name, payload(body, "data"))
    return {"accepted": "raise-event"}


def _suspend(core: TaskHubCore, record: InstanceRecord, body: dict[str, Any]) -> dict[str, Any]:
    core.suspend(record.instance_id, text(body, "reason"))
    return {"accepted": "suspend"}


def _resume(core: TaskHubCore, record: InstanceRecord, body: dict[str, Any]) -> dict[str, Any]:
    core.resume(record.instance_id, text(body, "reason"))
    return {"accepted": "resume"}


def _terminate(core: TaskHubCore, record: InstanceRecord, body: dict[str, Any]) -> dict[str, Any]:
    core.terminate(record.instance_id, payload(body, "output"), _recursive(body))
    return {"accepted": "terminate"}


def _purge(core: TaskHubCore, record: InstanceRecord, body: dict[str, Any]) -> dict[str, Any]:
    return {"deleted": core.purge(record.instance_id, _recursive(body))}


def _rewind(core: TaskHubCore, record: InstanceRecord, body: dict[str, Any]) -> dict[str, Any]:
    core.rewind(record.instance_id, text(body, "reason"))
    return {"accepted": "rewind"}


ACTIONS: dict[str, _Action] = {
    "raise-event": _raise_event,
    "suspend": _suspend,
    "resume": _resume,
    "terminate": _terminate,
    "purge": _purge,
    "rewind": _rewind,
}
"""Actions by URL name. Bodies: raise-event ``{"name", "data"}``; suspend, resume and
rewind ``{"reason"}``; terminate ``{"output", "recursive"}``; purge ``{"recursive"}``."""
