"""The embedded Durable Task sidecar: a grpc.aio ``TaskHubSidecarService`` with pluggable stores."""

from __future__ import annotations

from durabletask.sidecar.options import SidecarOptions
from durabletask.sidecar.hosting import EmbeddedSidecar, SidecarHost, serve
from durabletask.sidecar.store import MemoryStore, Store

__all__ = ["EmbeddedSidecar", "MemoryStore", "SidecarHost", "SidecarOptions", "Store", "serve"]
