"""Schedule clients, sync and async: create, describe, list, update, pause, resume, delete.

Each write runs the schedule entity's operation through the operation orchestrator and
waits for it (up to ``operation_timeout`` seconds), so a refused operation raises here.
The worker must have called ``configure_scheduled_tasks()``.
"""

from __future__ import annotations

from durabletask.client import AsyncTaskHubGrpcClient, TaskHubGrpcClient
from durabletask.scheduled import _operations as ops
from durabletask.scheduled import transitions
from durabletask.scheduled.exceptions import ScheduleNotFoundError
from durabletask.scheduled.models import (
    ScheduleCreationOptions,
    ScheduleDescription,
    ScheduleQuery,
    ScheduleState,
    ScheduleUpdateOptions,
)
from durabletask.scheduled.orchestrator import execute_schedule_operation_orchestrator
from durabletask.scheduled.schedule_entity import DELETE_OPERATION, ENTITY_NAME

__all__ = ["AsyncScheduleClient", "AsyncScheduledTaskClient", "ScheduleClient",
           "ScheduledTaskClient"]

_REEXPORTED = (ENTITY_NAME,)  # the official module has it at this path too


class _ScheduleHandle:
    """What both schedule clients hold: the id, its entity and the operation timeout."""

    def __init__(self, schedule_id: str, operation_timeout: float) -> None:
        self._entity_id = ops.entity_id_of(schedule_id)
        self._schedule_id = schedule_id
        self._operation_timeout = operation_timeout

    @property
    def schedule_id(self) -> str:
        """The id of this schedule."""
        return self._schedule_id


class ScheduleClient(_ScheduleHandle):
    """Manages one schedule.

    Args:
        client: The client the operations go through.
        schedule_id: The schedule's id.
        operation_timeout: Seconds to wait for each write operation.

    Raises:
        ValueError: ``schedule_id`` is empty.
    """

    def __init__(
        self, client: TaskHubGrpcClient, schedule_id: str, *, operation_timeout: float = 60
    ) -> None:
        super().__init__(schedule_id, operation_timeout)
        self._client = client

    def _run_operation(self, operation_name: str, value: object | None = None) -> None:
        request = ops.request_for(self._entity_id, operation_name, value)
        instance_id = self._client.schedule_new_orchestration(
            execute_schedule_operation_orchestrator, input=request)
        state = self._client.wait_for_orchestration_completion(
            instance_id, timeout=self._operation_timeout)
        error = ops.failure_of(state, operation_name, self._schedule_id)
        if error is None:
            return
        if ops.needs_schedule(operation_name):
            missing = ops.not_found_instead(
                error, self._client.get_entity(self._entity_id, include_state=True))
            if missing is not None:
                raise missing from error
        raise error

    def create(self, options: ScheduleCreationOptions) -> None:
        """Create this schedule, or replace its configuration if it exists.

        Raises:
            ValueError: ``options.start_at`` is later than ``options.end_at``.
            ScheduleOperationError: The schedule entity refused the operation.
            TimeoutError: The operation did not finish within ``operation_timeout``.
        """
        self._run_operation(transitions.CREATE_SCHEDULE, options)

    def update(self, options: ScheduleUpdateOptions) -> None:
        """Change the fields set in ``options``.

        Raises:
            ScheduleNotFoundError: There is no such schedule.
            ValueError: ``options`` start later than they end.
            ScheduleOperationError: The entity refused the change (e.g. the new window
                starts later than it ends).
            TimeoutError: The operation did not finish within ``operation_timeout``.
        """
        self._run_operation(transitions.UPDATE_SCHEDULE, options)

    def pause(self) -> None:
        """Stop starting orchestrations until :meth:`resume`.

        Raises:
            ScheduleNotFoundError: There is no such schedule.
            ScheduleOperationError: The schedule is not active.
            TimeoutError: The operation did not finish within ``operation_timeout``.
        """
        self._run_operation(transitions.PAUSE_SCHEDULE)

    def resume(self) -> None:
        """Resume a paused schedule.

        Raises:
            ScheduleNotFoundError: There is no such schedule.
            ScheduleOperationError: The schedule is not paused.
            TimeoutError: The operation did not finish within ``operation_timeout``.
        """
        self._run_operation(transitions.RESUME_SCHEDULE)

    def delete(self) -> None:
        """Delete this schedule (nothing happens if it does not exist).

        Raises:
            TimeoutError: The operation did not finish within ``operation_timeout``.
        """
        self._run_operation(DELETE_OPERATION)

    def describe(self) -> ScheduleDescription:
        """Return the schedule's configuration, status and run times.

        Raises:
            ScheduleNotFoundError: There is no such schedule.
        """
        metadata = self._client.get_entity(self._entity_id, include_state=True)
        return ops.description_of(metadata, self._schedule_id)


class ScheduledTaskClient:
    """Creates, finds and lists schedules.

    Args:
        client: The client the operations go through.
        operation_timeout: Seconds to wait for each write operation.
    """

    def __init__(self, client: TaskHubGrpcClient, *, operation_timeout: float = 60) -> None:
        self._client = client
        self._operation_timeout = operation_timeout

    def get_schedule_client(self, schedule_id: str) -> ScheduleClient:
        """Return a client for the schedule ``schedule_id`` (which may not exist yet)."""
        return ScheduleClient(self._client, schedule_id, operation_timeout=self._operation_timeout)

    def create_schedule(self, options: ScheduleCreationOptions) -> ScheduleClient:
        """Create (or replace) a schedule and return its client.

        Raises:
            ValueError: ``options.start_at`` is later than ``options.end_at``.
            ScheduleOperationError: The schedule entity refused the operation.
            TimeoutError: The operation did not finish within ``operation_timeout``.
        """
        schedule = self.get_schedule_client(options.schedule_id)
        schedule.create(options)
        return schedule

    def get_schedule(self, schedule_id: str) -> ScheduleDescription | None:
        """Return the description of a schedule, or None if there is none with that id."""
        try:
            return self.get_schedule_client(schedule_id).describe()
        except ScheduleNotFoundError:
            return None

    def list_schedules(
        self, schedule_query: ScheduleQuery | None = None
    ) -> list[ScheduleDescription]:
        """Return the schedules matching ``schedule_query`` (all of them by default).

        The id prefix is applied by the sidecar; status and creation-time filters are
        applied here to each page, as the official client does.
        """
        entities = self._client.get_all_entities(ops.entity_query_for(schedule_query))
        return ops.descriptions(entities, schedule_query)

    @staticmethod
    def matches_filter(state: ScheduleState, schedule_query: ScheduleQuery | None) -> bool:
        """True when ``state`` passes the query's status and (exclusive) time bounds."""
        return ops.matches(state, schedule_query)


class AsyncScheduleClient(_ScheduleHandle):
    """Manages one schedule, asynchronously; see :class:`ScheduleClient`.

    Raises:
        ValueError: ``schedule_id`` is empty.
    """

    def __init__(
        self, client: AsyncTaskHubGrpcClient, schedule_id: str, *, operation_timeout: float = 60
    ) -> None:
        super().__init__(schedule_id, operation_timeout)
        self._client = client

    async def _run_operation(self, operation_name: str, value: object | None = None) -> None:
        request = ops.request_for(self._entity_id, operation_name, value)
        instance_id = await self._client.schedule_new_orchestration(
            execute_schedule_operation_orchestrator, input=request)
        state = await self._client.wait_for_orchestration_completion(
            instance_id, timeout=self._operation_timeout)
        error = ops.failure_of(state, operation_name, self._schedule_id)
        if error is None:
            return
        if ops.needs_schedule(operation_name):
            metadata = await self._client.get_entity(self._entity_id, include_state=True)
            missing = ops.not_found_instead(error, metadata)
            if missing is not None:
                raise missing from error
        raise error

    async def create(self, options: ScheduleCreationOptions) -> None:
        """Create this schedule, or replace its configuration; see :meth:`ScheduleClient.create`."""
        await self._run_operation(transitions.CREATE_SCHEDULE, options)

    async def update(self, options: ScheduleUpdateOptions) -> None:
        """Change the fields set in ``options``; see :meth:`ScheduleClient.update`."""
        await self._run_operation(transitions.UPDATE_SCHEDULE, options)

    async def pause(self) -> None:
        """Pause this schedule; see :meth:`ScheduleClient.pause`."""
        await self._run_operation(transitions.PAUSE_SCHEDULE)

    async def resume(self) -> None:
        """Resume this schedule; see :meth:`ScheduleClient.resume`."""
        await self._run_operation(transitions.RESUME_SCHEDULE)

    async def delete(self) -> None:
        """Delete this schedule; see :meth:`ScheduleClient.delete`."""
        await self._run_operation(DELETE_OPERATION)

    async def describe(self) -> ScheduleDescription:
        """Return the schedule's description.

        Raises:
            ScheduleNotFoundError: There is no such schedule.
        """
        metadata = await self._client.get_entity(self._entity_id, include_state=True)
        return ops.description_of(metadata, self._schedule_id)


class AsyncScheduledTaskClient:
    """Creates, finds and lists schedules, asynchronously; see :class:`ScheduledTaskClient`."""

    def __init__(self, client: AsyncTaskHubGrpcClient, *, operation_timeout: float = 60) -> None:
        self._client = client
        self._operation_timeout = operation_timeout

    def get_schedule_client(self, schedule_id: str) -> AsyncScheduleClient:
        """Return an async client for the schedule ``schedule_id``."""
        return AsyncScheduleClient(
            self._client, schedule_id, operation_timeout=self._operation_timeout)

    async def create_schedule(self, options: ScheduleCreationOptions) -> AsyncScheduleClient:
        """Create (or replace) a schedule and return its client."""
        schedule = self.get_schedule_client(options.schedule_id)
        await schedule.create(options)
        return schedule

    async def get_schedule(self, schedule_id: str) -> ScheduleDescription | None:
        """Return the description of a schedule, or None if there is none with that id."""
        try:
            return await self.get_schedule_client(schedule_id).describe()
        except ScheduleNotFoundError:
            return None

    async def list_schedules(
        self, schedule_query: ScheduleQuery | None = None
    ) -> list[ScheduleDescription]:
        """Return the schedules matching ``schedule_query`` (all of them by default)."""
        entities = await self._client.get_all_entities(ops.entity_query_for(schedule_query))
        return ops.descriptions(entities, schedule_query)
