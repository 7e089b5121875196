"""Task hubs of the embedded sidecar: one isolated core per hub, chosen per call by header.

Without hub names the sidecar has a single default hub that accepts any (or no) ``taskhub``
header, and serves through the generated handlers as before. With hub names, or with a
token requirement, a :class:`HubRouter` sits in front: it checks the ``authorization``
header, picks the hub from the ``taskhub`` header and hands the call to that hub's
handlers, or answers UNAUTHENTICATED / INVALID_ARGUMENT / NOT_FOUND with a message.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import grpc

from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from durabletask.internal.proto import durabletask_extensions_pb2_grpc as ext_grpc
from durabletask.internal.proto import sidecar_admin_pb2_grpc as admin_grpc
from durabletask.sidecar.admin import AdminServicer
from durabletask.sidecar.completion_stream import SERVICE_PREFIX as COMPLETION_STREAM_PREFIX
from durabletask.sidecar.completion_stream import CompletionStreamServicer
from durabletask.sidecar.clock import SYSTEM_CLOCK, Clock
from durabletask.sidecar.task_hub import TaskHubCore
from durabletask.sidecar.options import SidecarOptions, validate_hub_names
from durabletask.sidecar.rpc import guard_decoding
from durabletask.sidecar.server import SidecarServicer
from durabletask.sidecar.store.base import Store
from durabletask.sidecar.store.memory import MemoryStore
from durabletask.sidecar import telemetry

__all__ = [
    "DEFAULT_HUB",
    "HubRouter",
    "StoreFactory",
    "TaskHubs",
    "check_authorization",
    "hub_store_path",
]

DEFAULT_HUB = ""
"""Key of the single hub of a sidecar started without hub names."""

StoreFactory = Callable[[str], Store]
"""Builds the store of one hub from its name (``DEFAULT_HUB`` for the default hub)."""

_SERVICE_PREFIXES = ("/TaskHubSidecarService/", "/durabletask.sidecar.admin.v1.SidecarAdmin/",
                     COMPLETION_STREAM_PREFIX)


def hub_store_path(path: str, hub: str) -> str:
    """Return the database file of ``hub`` next to ``path``: ``state.db`` -> ``state.<hub>.db``.

    Args:
        path: The database path given for the sidecar.
        hub: The hub name; ``DEFAULT_HUB`` returns ``path`` unchanged.
    """
    if hub == DEFAULT_HUB:
        return path
    stem, ext = os.path.splitext(path)
    return f"{stem}.{hub}{ext}"


def check_authorization(
    metadata: Mapping[str, str], require_token: bool | str
) -> str | None:
    """Return why the call must be refused (UNAUTHENTICATED), or None to accept it.

    Args:
        metadata: The call's metadata, keys lower case.
        require_token: False accepts every call; True requires ``authorization: Bearer <any
            non-empty token>``; a string requires exactly that token.
    """
    if require_token is False:
        return None
    scheme, _, token = metadata.get("authorization", "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return (
            "this sidecar requires authentication: send the metadata header "
            "'authorization: Bearer <token>' (DurableTaskSchedulerClient and "
            "DurableTaskSchedulerWorker send it when given a token_credential)"
        )
    if isinstance(require_token, str) and not hmac.compare_digest(
        token.encode(), require_token.encode()
    ):
        return "the bearer token in the 'authorization' header was not accepted by this sidecar"
    return None


class _HandlerCollector:
    """Stands in for a server to capture the method handlers of one generated service."""

    def __init__(self) -> None:
        self.service = ""
        self.handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        """The registered handlers below carry the same methods."""

    def add_registered_method_handlers(self, service: str, handlers: Any) -> None:
        self.service = service
        self.handlers = dict(handlers)


def service_handlers(
    add_to_server: Callable[[Any, Any], None], servicer: Any
) -> tuple[str, dict[str, grpc.RpcMethodHandler[Any, Any]]]:
    """Return the service name and method handlers of a generated ``add_*_to_server``.

    The handlers answer undecodable request bytes with ``INVALID_ARGUMENT``
    (:func:`~durabletask.sidecar.rpc.guard_decoding`).
    """
    collector = _HandlerCollector()
    add_to_server(servicer, collector)
    return collector.service, guard_decoding(collector.handlers)


def _hub_services(
    core: TaskHubCore,
) -> list[tuple[str, dict[str, grpc.RpcMethodHandler[Any, Any]]]]:
    """The services of one hub: the Durable Task protocol, and our admin extension."""
    return [
        service_handlers(pb_grpc.add_TaskHubSidecarServiceServicer_to_server,
                         SidecarServicer(core)),
        service_handlers(admin_grpc.add_SidecarAdminServicer_to_server, AdminServicer(core)),
        service_handlers(ext_grpc.add_CompletionStreamServicer_to_server,
                         CompletionStreamServicer(core)),
    ]


class _HubHandler(grpc.GenericRpcHandler):
    """Every service of one hub behind one generic handler."""

    def __init__(self, core: TaskHubCore) -> None:
        self._handlers = [grpc.method_handlers_generic_handler(service, methods)
                          for service, methods in _hub_services(core)]

    def service(self, handler_call_details: Any) -> grpc.RpcMethodHandler[Any, Any] | None:
        for handler in self._handlers:
            found = handler.service(handler_call_details)
            if found is not None:
                return found
        return None


def _refusal(
    handler: grpc.RpcMethodHandler[Any, Any], code: grpc.StatusCode, message: str
) -> grpc.RpcMethodHandler[Any, Any]:
    if handler.response_streaming:

        async def refuse_stream(request: Any, context: Any) -> Any:
            await context.abort(code, message)
            yield  # pragma: no cover - abort raises; the yield makes this a generator

        # The only client-streaming method is bidirectional (CompletionStream.Complete).
        make = (grpc.stream_stream_rpc_method_handler if handler.request_streaming
                else grpc.unary_stream_rpc_method_handler)
        return make(
            refuse_stream, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    async def refuse(request: Any, context: Any) -> Any:
        await context.abort(code, message)

    return grpc.unary_unary_rpc_method_handler(
        refuse, request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


class HubRouter(grpc.GenericRpcHandler):
    """Routes each call to its hub's handlers after the token check."""

    def __init__(
        self,
        handlers: Mapping[str, grpc.GenericRpcHandler],
        *,
        named: bool,
        require_token: bool | str,
    ) -> None:
        """Route between ``handlers``.

        Args:
            handlers: Generic handler of each hub, by name.
            named: True when hubs have names (the ``taskhub`` header picks one); False for
                the single default hub, which ignores the header.
            require_token: See :func:`check_authorization`.
        """
        self._handlers = dict(handlers)
        self._named = named
        self._require_token = require_token
        self._served = ", ".join(repr(name) for name in self._handlers)

    def service(self, handler_call_details: Any) -> grpc.RpcMethodHandler[Any, Any] | None:
        """Return the handler for the call, or one that refuses it with a message."""
        method = handler_call_details.method
        if not method.startswith(_SERVICE_PREFIXES):
            return None
        metadata = {
            key.lower(): value
            for key, value in handler_call_details.invocation_metadata or ()
            if isinstance(value, str)
        }
        hub, code, message = self._select(metadata)
        target = self._handlers.get(hub) or next(iter(self._handlers.values()))
        handler = target.service(handler_call_details)
        if handler is None or code is None:
            return handler
        return _refusal(handler, code, message)

    def _select(self, metadata: Mapping[str, str]) -> tuple[str, grpc.StatusCode | None, str]:
        refused = check_authorization(metadata, self._require_token)
        if refused is not None:
            return "", grpc.StatusCode.UNAUTHENTICATED, refused
        if not self._named:
            return DEFAULT_HUB, None, ""
        hub = metadata.get("taskhub", "")
        if not hub:
            return "", grpc.StatusCode.INVALID_ARGUMENT, (
                f"no task hub selected: set the 'taskhub' metadata header to one of the hubs "
                f"this sidecar serves ({self._served})"
            )
        if hub not in self._handlers:
            return "", grpc.StatusCode.NOT_FOUND, (
                f"task hub {hub!r} not found: this sidecar serves {self._served}; start it "
                f"with that hub or set the 'taskhub' header to one of these"
            )
        return hub, None, ""


class TaskHubs:
    """The hubs of one sidecar: an isolated store and core per hub."""

    def __init__(
        self,
        names: Iterable[str],
        options: SidecarOptions,
        *,
        store: Store | None = None,
        store_factory: StoreFactory | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        """Build one core per hub (nothing starts yet).

        Args:
            names: Hub names; empty = one default hub that accepts any ``taskhub`` header.
            options: Limits and intervals shared by every hub.
            store: The store of a single hub (the default one, or the only named one).
            store_factory: Builds each hub's store; a ``MemoryStore`` per hub when None.
            clock: Time source of timestamps, timers, leases and pings (the time seam).

        Raises:
            ValueError: Bad names, both ``store`` and ``store_factory``, or ``store`` with
                several hubs (hubs never share a store).
        """
        self.names = validate_hub_names(names)
        keys = self.names or (DEFAULT_HUB,)
        if store is not None and store_factory is not None:
            raise ValueError("pass either store or store_factory, not both")
        if store is not None and len(keys) > 1:
            raise ValueError(
                f"one store cannot hold {len(keys)} task hubs; pass store_factory=lambda hub: "
                f"... to give each hub its own store"
            )
        factory = store_factory or (lambda _hub: MemoryStore())
        self.cores: dict[str, TaskHubCore] = {}
        for key in keys:
            hub_store = store if store is not None else factory(key)
            self.cores[key] = TaskHubCore(hub_store, options, clock)

    @property
    def default(self) -> TaskHubCore:
        """The first hub's core (the only one without hub names)."""
        return next(iter(self.cores.values()))

    def register(self, server: Any, require_token: bool | str) -> None:
        """Serve every hub on ``server``, behind the router when needed."""
        if not self.names and require_token is False:
            for service, methods in _hub_services(self.default):
                server.add_generic_rpc_handlers(
                    (grpc.method_handlers_generic_handler(service, methods),)
                )
                server.add_registered_method_handlers(service, methods)
            return
        handlers = {name: _HubHandler(core) for name, core in self.cores.items()}
        server.add_generic_rpc_handlers(
            (HubRouter(handlers, named=bool(self.names), require_token=require_token),)
        )

    def start(self) -> None:
        """Start every hub's core (on the sidecar's loop)."""
        for key, core in self.cores.items():
            core.start()
            telemetry.watch(core, key)

    async def close(self) -> None:
        """End every hub's worker streams and timers."""
        for core in self.cores.values():
            await core.close()

    def close_stores(self) -> None:
        """Close every hub's store (after the server stopped)."""
        for core in self.cores.values():
            core.store.close()

    def reset(self) -> None:
        """Delete the state of every hub."""
        for core in self.cores.values():
            core.reset()
