"""The worker for the Azure Durable Task Scheduler: the core worker plus auth and task hub."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import grpc

from durabletask.azuremanaged.internal.headers import new_worker_id
from durabletask.azuremanaged.internal.interceptors import (
    DTSAsyncDefaultClientInterceptorImpl,
    SchedulerMetadata,
)
from durabletask.exception_properties import ExceptionPropertiesProvider
from durabletask.internal.requests.arguments import ConnectionArguments
from durabletask.grpc_options import GrpcChannelOptions, GrpcWorkerResiliencyOptions
from durabletask.payload import PayloadStore
from durabletask.serialization import DataConverter
from durabletask.worker import ConcurrencyOptions, TaskHubGrpcWorker

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

__all__ = ["DurableTaskSchedulerWorker"]


class DurableTaskSchedulerWorker(TaskHubGrpcWorker):
    """A worker that runs orchestrations and activities of a Durable Task Scheduler task hub.

    Every call carries ``taskhub``, ``x-user-agent``, a ``workerid``
    (``<hostname>:<pid>:<uuid4>``) and, with a credential, an Entra ID bearer token.
    Timers are not split (``maximum_timer_interval=None``): the scheduler supports long
    timers natively.

    Example:
        >>> worker = DurableTaskSchedulerWorker(
        ...     host_address="http://localhost:8080", taskhub="default", token_credential=None,
        ...     secure_channel=False)
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
        resiliency_options: GrpcWorkerResiliencyOptions | None = None,
        concurrency_options: ConcurrencyOptions | None = None,
        payload_store: PayloadStore | None = None,
        data_converter: DataConverter | None = None,
        log_handler: logging.Handler | None = None,
        log_formatter: logging.Formatter | None = None,
        logger: logging.Logger | None = None,
        exception_properties_provider: ExceptionPropertiesProvider | None = None,
    ) -> None:
        """Create a worker; nothing connects until :meth:`start`.

        Args:
            host_address: The scheduler endpoint (``https://...``, or ``http://`` for the
                local emulator).
            taskhub: The task hub to serve; must not be empty.
            token_credential: An ``azure.core`` ``TokenCredential``; None = anonymous. It
                is called off the worker's event loop. An ``AsyncTokenCredential`` works too.
            resource_id: The Entra ID resource; the cloud's default when None.
            channel: A channel to use instead of creating one; it must already carry the
                scheduler headers, since interceptors are not applied to it.
            secure_channel: Use TLS when ``host_address`` has no scheme prefix.
            interceptors: More ``grpc.aio`` client interceptors (the worker's channel is a
                ``grpc.aio`` one); they run before the scheduler's. Copied, never modified.
            channel_options: Options of the channel the worker creates.
            resiliency_options: Worker resiliency options.
            concurrency_options: Limits on concurrent work items.
            payload_store: Store for payloads above its threshold.
            data_converter: Serialises inputs, outputs and event data; JSON by default.
            log_handler: Deprecated and ignored.
            log_formatter: Deprecated and ignored.
            logger: The logger to use.
            exception_properties_provider: Adds properties to failure details.

        Raises:
            ValueError: ``taskhub`` is empty.
        """
        given = ConnectionArguments.of(locals())
        metadata = SchedulerMetadata(
            taskhub, token_credential, resource_id=resource_id, worker_id=new_worker_id()
        )
        scheduler = DTSAsyncDefaultClientInterceptorImpl(metadata).channel_interceptors()
        super().__init__(
            **given.with_interceptors(scheduler).keywords(),
            concurrency_options=concurrency_options, maximum_timer_interval=None,
            exception_properties_provider=exception_properties_provider,
        )
