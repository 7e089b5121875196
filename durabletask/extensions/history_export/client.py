"""Export clients, sync and async: create, inspect, list, wait for and delete export jobs.

A job is an entity (its state) driven by an orchestrator; the worker runs both, plus the
export activities, once :meth:`ExportHistoryClient.register_worker` registered them::

    export_client = ExportHistoryClient(dt_client, LocalFolderHistoryWriter("exports"))
    export_client.register_worker(worker)   # before worker.start()
    job = export_client.create_job(ExportJobCreationOptions(
        mode=ExportMode.BATCH, completed_time_from=start, completed_time_to=end,
        destination=ExportDestination(container="january")))
    final = export_client.wait_for_job(job.job_id)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import grpc

from durabletask import client as client_module
from durabletask import worker as worker_module
from durabletask.extensions.history_export import _jobs
from durabletask.extensions.history_export._constants import (
    ENTITY_NAME,
    ORCHESTRATOR_NAME,
    orchestrator_instance_id_for,
)
from durabletask.extensions.history_export.activities import HistoryExportContext
from durabletask.extensions.history_export.activities import register as register_activities
from durabletask.extensions.history_export.entity import ExportJobEntity
from durabletask.extensions.history_export.models import (
    ExportJobCreationOptions,
    ExportJobDescription,
    ExportJobQuery,
)
from durabletask.extensions.history_export.orchestrator import export_job_orchestrator
from durabletask.extensions.history_export.writer import HistoryWriter

__all__ = [
    "AsyncExportHistoryClient",
    "AsyncExportHistoryJobClient",
    "ExportHistoryClient",
    "ExportHistoryJobClient",
]


class ExportHistoryClient:
    """Creates and manages export jobs.

    Args:
        durable_task_client: The client jobs are managed through; the export activities
            of a worker registered with :meth:`register_worker` also read with it.
        writer: Where the activities of that worker write the exported histories.
    """

    def __init__(
        self, durable_task_client: client_module.TaskHubGrpcClient, writer: HistoryWriter
    ) -> None:
        self._client = durable_task_client
        self._writer = writer

    def register_worker(self, worker_instance: worker_module.TaskHubGrpcWorker) -> None:
        """Register the job entity, the orchestrator and the activities; before ``start()``."""
        worker_instance.add_entity(ExportJobEntity, name=ENTITY_NAME)
        context = HistoryExportContext(client=self._client, writer=self._writer)
        register_activities(worker_instance, lambda: context)
        worker_instance.add_orchestrator(export_job_orchestrator)

    def create_job(
        self, options: ExportJobCreationOptions, *, job_id: str | None = None
    ) -> ExportJobDescription:
        """Create a job (or restart a finished one with that id); it starts at once.

        Args:
            options: What to export, where and how.
            job_id: The job's id; a random one by default.

        Returns:
            The new job's description (active, no progress yet).

        Raises:
            ValueError: The options are invalid (see ``ExportJobConfiguration``).
        """
        entity_id, payload, description = _jobs.new_job(options, job_id)
        self._client.signal_entity(entity_id, ExportJobEntity.OP_CREATE, input=payload)
        return description

    def get_job(self, job_id: str) -> ExportJobDescription | None:
        """Return the job's description, or None if there is no such job."""
        return _jobs.description_of(
            job_id, self._client.get_entity(_jobs.entity_id_of(job_id), include_state=True))

    def list_jobs(self, query: ExportJobQuery | None = None) -> Iterator[ExportJobDescription]:
        """Yield the jobs matching ``query`` (all by default), page by page."""
        query = query or ExportJobQuery()
        for metadata in self._client.get_all_entities(_jobs.entity_query_for(query)):
            description = _jobs.listed(metadata, query)
            if description is not None:
                yield description

    def wait_for_job(
        self, job_id: str, *, timeout: float = 300.0, poll_interval: float = 1.0
    ) -> ExportJobDescription:
        """Poll until the job is completed or failed, and return its description.

        Raises:
            ValueError: ``timeout`` or ``poll_interval`` is not positive.
            ExportJobNotFoundError: The job never existed within ``timeout``.
            TimeoutError: The job was still active after ``timeout`` seconds.
        """
        wait = _jobs.JobWait(job_id, timeout, poll_interval)
        while (finished := wait.finished(self.get_job(job_id))) is None:
            time.sleep(wait.poll_interval)
        return finished

    def delete_job(self, job_id: str) -> None:
        """Delete a job: clear its state, terminate and purge its orchestrator.

        Exported files stay. A missing orchestrator is fine; one that does not stop
        within 30 s is purged anyway (logged).
        """
        self._client.signal_entity(_jobs.entity_id_of(job_id), ExportJobEntity.OP_DELETE)
        instance_id = orchestrator_instance_id_for(job_id)
        try:
            self._client.terminate_orchestration(instance_id, recursive=True)
        except grpc.RpcError as exc:
            _jobs.raise_unless_not_found(exc)
        try:
            self._client.wait_for_orchestration_completion(
                instance_id, timeout=_jobs.DELETE_WAIT_SECONDS)
        except TimeoutError:
            _jobs.log_slow_termination(job_id)
        except grpc.RpcError as exc:
            _jobs.raise_unless_not_found(exc)
        try:
            self._client.purge_orchestration(instance_id, recursive=True)
        except grpc.RpcError as exc:
            _jobs.raise_unless_not_found(exc)

    def cancel_job(self, job_id: str) -> None:
        """Stop a job (the same as :meth:`delete_job`; continuous jobs never complete)."""
        self.delete_job(job_id)

    def get_job_client(self, job_id: str) -> ExportHistoryJobClient:
        """Return a client bound to one job."""
        return ExportHistoryJobClient(self, job_id)

    @property
    def entity_name(self) -> str:
        """The job entity's name."""
        return ENTITY_NAME

    @property
    def orchestrator_name(self) -> str:
        """The job orchestrator's name."""
        return ORCHESTRATOR_NAME

    @property
    def writer(self) -> HistoryWriter:
        """The writer the registered activities write with."""
        return self._writer

    @property
    def underlying_client(self) -> client_module.TaskHubGrpcClient:
        """The client jobs are managed through."""
        return self._client


class _JobHandle:
    """What both job clients hold: the job id."""

    def __init__(self, job_id: str) -> None:
        if not job_id:
            raise ValueError("job_id must be a non-empty string")
        self._job_id = job_id

    @property
    def job_id(self) -> str:
        """The job's id."""
        return self._job_id

    @property
    def orchestrator_instance_id(self) -> str:
        """The instance id of the job's orchestrator."""
        return orchestrator_instance_id_for(self._job_id)


class ExportHistoryJobClient(_JobHandle):
    """One job's view of an :class:`ExportHistoryClient`.

    Raises:
        ValueError: ``job_id`` is empty.
    """

    def __init__(self, parent: ExportHistoryClient, job_id: str) -> None:
        super().__init__(job_id)
        self._parent = parent

    def describe(self) -> ExportJobDescription | None:
        """The job's description, or None if it does not exist."""
        return self._parent.get_job(self._job_id)

    def wait(self, *, timeout: float = 300.0, poll_interval: float = 1.0) -> ExportJobDescription:
        """Wait until the job is finished; see :meth:`ExportHistoryClient.wait_for_job`."""
        return self._parent.wait_for_job(
            self._job_id, timeout=timeout, poll_interval=poll_interval)

    def delete(self) -> None:
        """Delete the job; see :meth:`ExportHistoryClient.delete_job`."""
        self._parent.delete_job(self._job_id)


class AsyncExportHistoryClient:
    """Creates and manages export jobs, asynchronously; see :class:`ExportHistoryClient`.

    The export activities need a synchronous client: register them on the worker with
    an :class:`ExportHistoryClient`.
    """

    def __init__(
        self, durable_task_client: client_module.AsyncTaskHubGrpcClient, writer: HistoryWriter
    ) -> None:
        self._client = durable_task_client
        self._writer = writer

    async def create_job(
        self, options: ExportJobCreationOptions, *, job_id: str | None = None
    ) -> ExportJobDescription:
        """Create a job; see :meth:`ExportHistoryClient.create_job`."""
        entity_id, payload, description = _jobs.new_job(options, job_id)
        await self._client.signal_entity(entity_id, ExportJobEntity.OP_CREATE, input=payload)
        return description

    async def get_job(self, job_id: str) -> ExportJobDescription | None:
        """Return the job's description, or None if there is no such job."""
        metadata = await self._client.get_entity(_jobs.entity_id_of(job_id), include_state=True)
        return _jobs.description_of(job_id, metadata)

    async def list_jobs(
        self, query: ExportJobQuery | None = None
    ) -> AsyncIterator[ExportJobDescription]:
        """Yield the jobs matching ``query`` (all by default)."""
        query = query or ExportJobQuery()
        for metadata in await self._client.get_all_entities(_jobs.entity_query_for(query)):
            description = _jobs.listed(metadata, query)
            if description is not None:
                yield description

    async def wait_for_job(
        self,
        job_id: str,
        *,
        timeout: float = 300.0,  # noqa: ASYNC109 - the official signature
        poll_interval: float = 1.0,
    ) -> ExportJobDescription:
        """Wait until the job is finished; see :meth:`ExportHistoryClient.wait_for_job`."""
        wait = _jobs.JobWait(job_id, timeout, poll_interval)
        while (finished := wait.finished(await self.get_job(job_id))) is None:
            await asyncio.sleep(wait.poll_interval)
        return finished

    async def delete_job(self, job_id: str) -> None:
        """Delete a job; see :meth:`ExportHistoryClient.delete_job`."""
        await self._client.signal_entity(_jobs.entity_id_of(job_id), ExportJobEntity.OP_DELETE)
        instance_id = orchestrator_instance_id_for(job_id)
        try:
            await self._client.terminate_orchestration(instance_id, recursive=True)
        except grpc.RpcError as exc:
            _jobs.raise_unless_not_found(exc)
        try:
            await self._client.wait_for_orchestration_completion(
                instance_id, timeout=_jobs.DELETE_WAIT_SECONDS)
        except TimeoutError:
            _jobs.log_slow_termination(job_id)
        except grpc.RpcError as exc:
            _jobs.raise_unless_not_found(exc)
        try:
            await self._client.purge_orchestration(instance_id, recursive=True)
        except grpc.RpcError as exc:
            _jobs.raise_unless_not_found(exc)

    async def cancel_job(self, job_id: str) -> None:
        """Stop a job (the same as :meth:`delete_job`)."""
        await self.delete_job(job_id)

    def get_job_client(self, job_id: str) -> AsyncExportHistoryJobClient:
        """Return an async client bound to one job."""
        return AsyncExportHistoryJobClient(self, job_id)

    @property
    def writer(self) -> HistoryWriter:
        """The writer given to this client."""
        return self._writer


class AsyncExportHistoryJobClient(_JobHandle):
    """One job's view of an :class:`AsyncExportHistoryClient`.

    Raises:
        ValueError: ``job_id`` is empty.
    """

    def __init__(self, parent: AsyncExportHistoryClient, job_id: str) -> None:
        super().__init__(job_id)
        self._parent = parent

    async def describe(self) -> ExportJobDescription | None:
        """The job's description, or None if it does not exist."""
        return await self._parent.get_job(self._job_id)

    async def wait(
        self, *, timeout: float = 300.0, poll_interval: float = 1.0  # noqa: ASYNC109
    ) -> ExportJobDescription:
        """Wait until the job is finished."""
        return await self._parent.wait_for_job(
            self._job_id, timeout=timeout, poll_interval=poll_interval)

    async def delete(self) -> None:
        """Delete the job."""
        await self._parent.delete_job(self._job_id)
