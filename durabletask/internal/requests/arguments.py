"""The constructor arguments that the clients and workers share, bundled once.

The public constructors keep the official 1.12.0 keyword lists (the API-surface test pins
them); behind them the arguments travel as one frozen bundle, picked out of the
constructor's parameters by name, so that passing them on (to a base class, to
``configure_client``, from an Azure Durable Task Scheduler subclass to the core class)
never lists them again. Adding an argument means adding it to the signatures and here.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from durabletask.grpc_options import GrpcChannelOptions
from durabletask.internal.clock import Clock
from durabletask.payload import PayloadStore
from durabletask.serialization import DataConverter

__all__ = ["ClientArguments", "ConnectionArguments"]

_A = TypeVar("_A", bound="ConnectionArguments")


@dataclass(frozen=True)
class ConnectionArguments:
    """What a client and a worker are both given: where and how to connect, and logging.

    The defaults are those of the core constructors; each field keeps the public
    parameter's name and is stored as given (normalisation happens where it is used).
    """

    host_address: str | None = None
    metadata: Sequence[tuple[str, str]] | None = None
    log_handler: Any = None
    log_formatter: Any = None
    logger: logging.Logger | None = None
    channel: Any = None
    secure_channel: bool = False
    interceptors: Sequence[Any] | None = None
    channel_options: GrpcChannelOptions | None = None
    resiliency_options: Any = None
    payload_store: PayloadStore | None = None
    data_converter: DataConverter | None = None
    emit_trace_spans: bool = True
    clock: Clock | None = None

    @classmethod
    def of(cls: type[_A], parameters: Mapping[str, Any]) -> _A:
        """Pick this bundle's fields out of a constructor's ``locals()``; others keep defaults.

        Call it first thing in the constructor, while its locals are its parameters.
        """
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{name: value for name, value in parameters.items() if name in names})

    def with_interceptors(self: _A, extra: Sequence[Any]) -> _A:
        """Return the bundle with ``extra`` interceptors after (inside) the caller's.

        The caller's sequence is copied, never modified.
        """
        return dataclasses.replace(self, interceptors=[*(self.interceptors or ()), *extra])

    def keywords(self) -> dict[str, Any]:
        """Return the bundle as keyword arguments of the public constructor."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}


@dataclass(frozen=True)
class ClientArguments(ConnectionArguments):
    """The arguments of ``TaskHubGrpcClient`` and ``AsyncTaskHubGrpcClient``."""

    default_version: str | None = None
