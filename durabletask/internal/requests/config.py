"""Normalise a client's constructor arguments once, for both the sync and async client."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from durabletask.grpc_options import GrpcClientResiliencyOptions
from durabletask.internal.clock import SYSTEM_CLOCK, Clock
from durabletask.internal.requests.arguments import ClientArguments
from durabletask.internal.requests.calls import ClientSettings, max_send_bytes
from durabletask.internal.transport.channel import ChannelSpec
from durabletask.payload import PayloadStore
from durabletask.serialization import DEFAULT_DATA_CONVERTER

__all__ = ["ClientConfig", "configure_client"]

_CALLER_CHANNEL = "<caller-provided channel>"


@dataclass(frozen=True)
class ClientConfig:
    """Everything a client shell needs, decided once at construction.

    Attributes:
        settings: What the shared request mapping needs (address, converter, limits).
        metadata: gRPC metadata added to every call (an immutable copy).
        logger: The client's logger.
        spec: How to open the SDK-owned channel; None when the caller passed a channel.
        interceptors: User interceptors, in order (a defensive copy).
        payload_store: The large-payload store, if any.
        resiliency: The client resiliency options.
        clock: What retry waits and call budgets run on (the time seam).
    """

    settings: ClientSettings
    metadata: tuple[tuple[str, str], ...]
    logger: logging.Logger
    spec: ChannelSpec | None
    interceptors: tuple[Any, ...]
    payload_store: PayloadStore | None
    resiliency: GrpcClientResiliencyOptions
    clock: Clock = SYSTEM_CLOCK

    def settings_for(self, default_version: str | None) -> ClientSettings:
        """Return the settings with the client's current ``default_version``."""
        if default_version == self.settings.default_version:
            return self.settings
        return replace(self.settings, default_version=default_version)


def _metadata(metadata: Sequence[tuple[str, str]] | None) -> tuple[tuple[str, str], ...]:
    pairs = tuple(tuple(pair) for pair in metadata or ())
    for pair in pairs:
        if len(pair) != 2 or not all(isinstance(part, str) for part in pair):
            raise ValueError(f"metadata must be a list of (str, str) pairs, got {pair!r}")
    return pairs  # type: ignore[return-value]


def _logger(logger: logging.Logger | None, log_handler: Any, log_formatter: Any) -> logging.Logger:
    if logger is not None:
        if log_handler is not None or log_formatter is not None:
            raise ValueError("'logger' cannot be combined with 'log_handler' or 'log_formatter'.")
        return logger
    if log_handler is None and log_formatter is None:
        return logging.getLogger("durabletask.client")
    warnings.warn(
        "log_handler and log_formatter are deprecated: pass logger=, or configure the "
        "'durabletask' logger.",
        DeprecationWarning,
        stacklevel=4,
    )
    # As in 1.12.0, the legacy parameters give the client a logger of its own, holding
    # that handler (a StreamHandler when only a formatter is given) and nothing else.
    private = logging.Logger("durabletask-client")
    handler = log_handler if log_handler is not None else logging.StreamHandler()
    if log_formatter is not None:
        handler.setFormatter(log_formatter)
    private.addHandler(handler)
    return private


def configure_client(args: ClientArguments) -> ClientConfig:
    """Validate and normalise the constructor arguments shared by both clients.

    Returns:
        The client's configuration.

    Raises:
        ValueError: Bad metadata or host address.
    """
    channel_options = args.channel_options
    resiliency: GrpcClientResiliencyOptions = (
        args.resiliency_options or GrpcClientResiliencyOptions()
    )
    client_logger = _logger(args.logger, args.log_handler, args.log_formatter)
    spec = None
    address = args.host_address or _CALLER_CHANNEL
    if args.channel is None:
        spec = ChannelSpec.from_args(
            args.host_address, secure_channel=args.secure_channel,
            channel_options=channel_options,
        )
        address = spec.target
    settings = ClientSettings(
        address=address,
        data_converter=args.data_converter or DEFAULT_DATA_CONVERTER,
        default_version=args.default_version,
        max_send_bytes=max_send_bytes(channel_options),
        default_call_timeout=resiliency.default_call_timeout_seconds,
        logger=client_logger,
    )
    return ClientConfig(
        settings=settings,
        metadata=_metadata(args.metadata),
        logger=client_logger,
        spec=spec,
        interceptors=tuple(args.interceptors or ()),
        payload_store=args.payload_store,
        resiliency=resiliency,
        clock=args.clock or SYSTEM_CLOCK,
    )
