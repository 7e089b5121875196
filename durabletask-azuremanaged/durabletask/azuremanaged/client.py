"""Clients of the Azure Durable Task Scheduler: the core clients plus its auth and task hub."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import grpc
import grpc.aio

from durabletask.azuremanaged.internal.interceptors import (
    DTSAsyncDefaultClientInterceptorImpl,
    DTSDefaultClientInterceptorImpl,
    SchedulerMetadata,
)
from durabletask.client import AsyncTaskHubGrpcClient, TaskHubGrpcClient
from durabletask.internal.requests.arguments import ClientArguments
from durabletask.grpc_options import GrpcChannelOptions, GrpcClientResiliencyOptions
from durabletask.payload import PayloadStore
from durabletask.serialization import DataConverter

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.core.credentials_async import AsyncTokenCredential

__all__ = ["AsyncDurableTaskSchedulerClient", "DurableTaskSchedulerClient"]


class DurableTaskSchedulerClient(TaskHubGrpcClient):
    """A synchronous client of an Azure Durable Task Scheduler task hub.

    Every call carries the ``taskhub`` and ``x-user-agent`` headers and, when
    ``token_credential`` is given, an ``authorization: Bearer`` Entra ID token that is
    fetched on first use and refreshed before it expires.

    Example:
        >>> from azure.identity import DefaultAzureCredential
        >>> client = DurableTaskSchedulerClient(
        ...     host_address="https://myscheduler.westus2.durabletask.io",
        ...     taskhub="default", token_credential=DefaultAzureCredential())
    """

    def __init__(
        self,
        *,
        host_address: str,
        taskhub: str,
        token_credential: TokenCredential | None,
        resource_id: str | None = None,
        channel: grpc.Channel | None = None,
        secure_channel: bool = True,
        interceptors: Sequence[Any] | None = None,
        channel_options: GrpcChannelOptions | None = None,
        resiliency_options: GrpcClientResiliencyOptions | None = None,
        default_version: str | None = None,
        payload_store: PayloadStore | None = None,
        data_converter: DataConverter | None = None,
        log_handler: logging.Handler | None = None,
        log_formatter: logging.Formatter | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        """Create a client; the channel connects lazily.

        Args:
            host_address: The scheduler endpoint; ``https://`` (the default when no scheme
                is given, see ``secure_channel``) or ``http://`` for the local emulator.
            taskhub: The task hub to address; must not be empty.
            token_credential: An ``azure.core`` ``TokenCredential`` (any object with
                ``get_token(scope)``); None = anonymous (the local emulator).
            resource_id: The Entra ID resource; ``https://durabletask.io`` by default
                (``https://durabletask.azure.us`` when ``REGION_NAME`` is usgov*/usdod*).
            channel: A channel to use instead of creating one; it must already carry the
                scheduler headers, since interceptors are not applied to it.
            secure_channel: Use TLS when ``host_address`` has no scheme prefix.
            interceptors: More sync client interceptors; they run before (outside) the
                scheduler's. The sequence is copied, never modified.
            channel_options: Options of the channel the client creates.
            resiliency_options: Client resiliency options.
            default_version: Version given to new orchestrations that name none.
            payload_store: Store for payloads above its threshold.
            data_converter: Serialises inputs, outputs and event data; JSON by default.
            log_handler: Deprecated and ignored.
            log_formatter: Deprecated and ignored.
            logger: The logger to use.

        Raises:
            ValueError: ``taskhub`` is empty.
            TypeError: ``token_credential`` is an ``AsyncTokenCredential``.
        """
        given = ClientArguments.of(locals())
        metadata = SchedulerMetadata(taskhub, token_credential, resource_id=resource_id)
        metadata.require_sync()
        scheduler = DTSDefaultClientInterceptorImpl(metadata)
        super().__init__(**given.with_interceptors([scheduler]).keywords())


class AsyncDurableTaskSchedulerClient(AsyncTaskHubGrpcClient):
    """An asyncio client of an Azure Durable Task Scheduler task hub.

    Same headers and token handling as :class:`DurableTaskSchedulerClient`, with an
    ``AsyncTokenCredential`` (a synchronous ``TokenCredential`` also works: it is called
    off the event loop).
    """

    def __init__(
        self,
        *,
        host_address: str,
        taskhub: str,
        token_credential: AsyncTokenCredential | None,
        resource_id: str | None = None,
        channel: grpc.aio.Channel | None = None,
        secure_channel: bool = True,
        interceptors: Sequence[Any] | None = None,
        channel_options: GrpcChannelOptions | None = None,
        resiliency_options: GrpcClientResiliencyOptions | None = None,
        default_version: str | None = None,
        payload_store: PayloadStore | None = None,
        data_converter: DataConverter | None = None,
        log_handler: logging.Handler | None = None,
        log_formatter: logging.Formatter | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        """Create a client; see :class:`DurableTaskSchedulerClient` for the arguments.

        ``interceptors`` are ``grpc.aio`` client interceptors, and ``channel`` a
        ``grpc.aio`` channel.

        Raises:
            ValueError: ``taskhub`` is empty.
        """
        given = ClientArguments.of(locals())
        metadata = SchedulerMetadata(taskhub, token_credential, resource_id=resource_id)
        scheduler = DTSAsyncDefaultClientInterceptorImpl(metadata).channel_interceptors()
        super().__init__(**given.with_interceptors(scheduler).keywords())
