"""The dashboard's entity routes: list and read entities, signal one, through the entity core.

``GET  /api/entities?q=&limit=&cursor=&transient=``  one page, ordered by entity id
``GET  /api/entities/{id}``                          state, lock, backlog, queued messages
``POST /api/entities/{id}/signal``                   ``{"operation", "input"}``

Reads go through ``EntityCore`` (``query`` as ``QueryEntities`` does, ``inspect`` for one
entity); a signal is checked and queued exactly as the gRPC ``SignalEntity`` does it.
Entities are listed by id, the order the entity store keeps (and ``QueryEntities`` pages
in); ``q`` is an id prefix: an entity name prefix (``count``), or a name and key prefix
(``@counter@a``). Entities without state are listed only with ``transient=true``.
"""

from __future__ import annotations

import uuid

from aiohttp import web

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.sidecar import validation
from durabletask.sidecar.entities.ids import entity_id, normalize_prefix
from durabletask.sidecar.entities.servicer import check_signal
from durabletask.sidecar.errors import InstanceNotFoundError
from durabletask.sidecar.hubs import TaskHubs
from durabletask.sidecar.store.entity_base import EntityQuery
from durabletask.sidecar.dashboard.entity_views import entity_detail, entity_summary
from durabletask.sidecar.dashboard.guard import read_json_object
from durabletask.sidecar.dashboard.params import flag, hub_core, page_size, payload, search, text


class EntityApi:
    """Entity route handlers over the task hubs of one sidecar."""

    def __init__(self, hubs: TaskHubs) -> None:
        """Serve the entities of ``hubs``."""
        self._hubs = hubs

    def routes(self) -> list[web.RouteDef]:
        """The entity routes."""
        return [
            web.get("/api/entities", self.list_entities),
            web.get("/api/entities/{id}", self.entity),
            web.post("/api/entities/{id}/signal", self.signal),
        ]

    async def list_entities(self, request: web.Request) -> web.Response:
        """One page of entities ordered by id, with the cursor of the next page."""
        core = hub_core(self._hubs, request)
        limit = page_size(request.query.get("limit"))
        prefix = search(request.query.get("q", ""))
        cursor = request.query.get("cursor") or None
        if cursor is not None:
            validation.instance_id(cursor, "cursor")
        records = core.entities.query(EntityQuery(
            id_prefix=normalize_prefix(prefix) if prefix else None,
            include_transient=flag(request.query.get("transient"), "transient"),
            after=cursor,
            limit=limit + 1,
        ))
        next_cursor = None
        if len(records) > limit:
            records = records[:limit]
            next_cursor = records[-1].entity_id
        return web.json_response({
            "entities": [entity_summary(r) for r in records],
            "nextCursor": next_cursor,
        })

    async def entity(self, request: web.Request) -> web.Response:
        """One entity: its state, lock holder, backlog and first queued messages."""
        core = hub_core(self._hubs, request)
        target = entity_id(request.match_info["id"], "entity id")
        found = core.entities.inspect(target)
        if found is None:
            raise InstanceNotFoundError(f"no entity with id {target!r}")
        return web.json_response(entity_detail(*found))

    async def signal(self, request: web.Request) -> web.Response:
        """Queue a one-way operation for the entity, as the gRPC ``SignalEntity`` does."""
        core = hub_core(self._hubs, request)
        target = entity_id(request.match_info["id"], "entity id")
        body = await read_json_object(request)
        operation = validation.name(text(body, "operation") or "", "operation")
        signal = pb.SignalEntityRequest(
            instanceId=target, name=operation, requestId=uuid.uuid4().hex
        )
        serialized = payload(body, "input")
        if serialized is not None:
            signal.input.value = serialized
        check_signal(signal)  # the gRPC API's rules, whatever they grow to
        core.entities.signal(signal)
        return web.json_response({"accepted": "signal", "requestId": signal.requestId})
