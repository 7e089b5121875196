"""Create the SDK-owned sync and aio gRPC channels from an address, TLS flag and options."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias, Union

import grpc
import grpc.aio

from durabletask.grpc_options import SAFE_KEEPALIVE, GrpcChannelOptions, KeepalivePolicy
from durabletask.internal.transport.address import HostAddress, parse_host_address

__all__ = [
    "AioClientInterceptor",
    "ChannelSpec",
    "SyncClientInterceptor",
    "create_aio_channel",
    "create_sync_channel",
]

_LOCAL_POOL_ARG = "grpc.use_local_subchannel_pool"
_KEEPALIVE_ARG = "grpc.keepalive_time_ms"

SyncClientInterceptor: TypeAlias = Union[
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
]
"""Any of the four sync client interceptor kinds ``grpc.intercept_channel`` accepts."""

AioClientInterceptor: TypeAlias = grpc.aio.ClientInterceptor
"""The base of the four ``grpc.aio`` client interceptor kinds."""


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """The recipe for an SDK-owned channel; opening it again gives an equivalent channel.

    Keeping the recipe (rather than only the channel) is what lets the resiliency layer
    replace a broken channel with a fresh one.

    Attributes:
        address: Where to connect and whether to use TLS.
        options: The channel options; ``GrpcChannelOptions()`` defaults when none given.
        keepalive: The keepalive used when ``options`` sets none (``keepalive_time_ms``
            None and no raw keepalive argument); what the sidecar permits decides it.
    """

    address: HostAddress
    options: GrpcChannelOptions = field(default_factory=GrpcChannelOptions)
    keepalive: KeepalivePolicy = SAFE_KEEPALIVE

    @classmethod
    def from_args(
        cls,
        host_address: str | None,
        *,
        secure_channel: bool = False,
        channel_options: GrpcChannelOptions | None = None,
    ) -> ChannelSpec:
        """Build a spec from the constructor arguments of a client or worker.

        Args:
            host_address: ``host:port``, optionally prefixed with ``http(s)://`` or
                ``grpc(s)://``; ``None`` means ``localhost:4001``.
            secure_channel: Use TLS when the address has no scheme prefix.
            channel_options: Channel options; ``None`` means the defaults.

        Returns:
            The channel recipe.
        """
        address = parse_host_address(host_address, secure_channel=secure_channel)
        return cls(address, channel_options or GrpcChannelOptions())

    @property
    def target(self) -> str:
        """The gRPC target the channel dials, e.g. ``localhost:4001``."""
        return self.address.target

    @property
    def user_keepalive(self) -> bool:
        """True when the caller's options configure keepalive themselves (never overridden)."""
        options = self.options
        return options.keepalive_time_ms is not None or any(
            name == _KEEPALIVE_ARG for name, _ in options.raw_options)

    def with_keepalive(self, keepalive: KeepalivePolicy) -> ChannelSpec:
        """Return the same recipe with another default keepalive."""
        return dataclasses.replace(self, keepalive=keepalive)

    def grpc_options(self) -> list[tuple[str, Any]]:
        """Return the channel arguments passed to gRPC.

        SDK-owned channels use a local subchannel pool: by default gRPC shares connections
        between channels with equal arguments, so a "recreated" channel would reuse the
        very TCP connection that was found broken. They also get :attr:`keepalive` unless
        the caller's options configure keepalive.
        """
        options = self.options.to_grpc_options()
        if not self.user_keepalive:
            # First, so that the caller's own arguments (appended later) still win.
            options[:0] = self.keepalive.to_grpc_options()
        if not any(name == _LOCAL_POOL_ARG for name, _ in options):
            options.insert(0, (_LOCAL_POOL_ARG, 1))
        return options

    def open_sync(
        self, interceptors: Sequence[SyncClientInterceptor] | None = None
    ) -> grpc.Channel:
        """Open a new sync channel, with ``interceptors`` applied in order (first = outermost).

        Args:
            interceptors: Client interceptors to wrap the channel with.

        Returns:
            The channel; closing it closes the underlying channel too.
        """
        options = self.grpc_options()
        if self.address.secure:
            channel = grpc.secure_channel(
                self.target, grpc.ssl_channel_credentials(), options=options
            )
        else:
            channel = grpc.insecure_channel(self.target, options=options)
        if interceptors:
            channel = grpc.intercept_channel(channel, *interceptors)
        return channel

    def open_aio(
        self, interceptors: Sequence[AioClientInterceptor] | None = None
    ) -> grpc.aio.Channel:
        """Open a new ``grpc.aio`` channel on the running event loop.

        A ``grpc.aio`` channel belongs to the loop it was created on: call this from
        that loop, as late as possible.

        Args:
            interceptors: aio client interceptors, in order (first = outermost).

        Returns:
            The channel.
        """
        options = self.grpc_options()
        chain = list(interceptors) if interceptors else None
        if self.address.secure:
            return grpc.aio.secure_channel(
                self.target, grpc.ssl_channel_credentials(), options=options,
                interceptors=chain,
            )
        return grpc.aio.insecure_channel(self.target, options=options, interceptors=chain)


def create_sync_channel(
    host_address: str | None = None,
    *,
    secure_channel: bool = False,
    channel_options: GrpcChannelOptions | None = None,
    interceptors: Sequence[SyncClientInterceptor] | None = None,
) -> grpc.Channel:
    """Open an SDK-owned sync channel to a sidecar.

    Args:
        host_address: ``host:port`` with an optional scheme prefix; None = localhost:4001.
        secure_channel: Use TLS when the address has no scheme prefix.
        channel_options: Channel options; None = defaults.
        interceptors: Sync client interceptors to apply, first = outermost.

    Returns:
        The channel. The caller owns it and must close it.
    """
    spec = ChannelSpec.from_args(
        host_address, secure_channel=secure_channel, channel_options=channel_options
    )
    return spec.open_sync(interceptors)


def create_aio_channel(
    host_address: str | None = None,
    *,
    secure_channel: bool = False,
    channel_options: GrpcChannelOptions | None = None,
    interceptors: Sequence[AioClientInterceptor] | None = None,
) -> grpc.aio.Channel:
    """Open an SDK-owned ``grpc.aio`` channel to a sidecar, on the running loop.

    Args:
        host_address: ``host:port`` with an optional scheme prefix; None = localhost:4001.
        secure_channel: Use TLS when the address has no scheme prefix.
        channel_options: Channel options; None = defaults.
        interceptors: aio client interceptors to apply, first = outermost.

    Returns:
        The channel. The caller owns it and must close it (``await channel.close()``).
    """
    spec = ChannelSpec.from_args(
        host_address, secure_channel=secure_channel, channel_options=channel_options
    )
    return spec.open_aio(interceptors)
