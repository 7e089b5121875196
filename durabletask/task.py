"""The orchestration API users write against: contexts, tasks, retry policies, errors."""

from __future__ import annotations

import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar, Union

from durabletask.errors import DurableTaskError
from durabletask.internal.proto import orchestrator_service_pb2 as pb

if TYPE_CHECKING:
    from durabletask.entities import DurableEntity, EntityContext, EntityInstanceId, EntityLock

__all__ = [
    "Activity",
    "ActivityContext",
    "CancellableTask",
    "CompletableTask",
    "CompositeTask",
    "Entity",
    "FailureDetails",
    "NonDeterminismError",
    "OrchestrationContext",
    "OrchestrationStateError",
    "Orchestrator",
    "ReplaySafeLogger",
    "RetryPolicy",
    "RetryableTask",
    "Task",
    "TaskCancelledError",
    "TaskFailedError",
    "TimerTask",
    "WhenAllTask",
    "WhenAnyTask",
    "get_entity_name",
    "get_name",
    "when_all",
    "when_any",
]


@dataclass(frozen=True)
class FailureDetails:
    """What went wrong in a failed task or orchestration.

    Attributes:
        message: The error message.
        error_type: The fully qualified error type, e.g. ``builtins.ValueError``.
        stack_trace: The formatted stack trace, when known.
        inner_failure: The failure that caused this one, when known.
        properties: Custom properties added by an ``ExceptionPropertiesProvider``.
    """

    message: str
    error_type: str
    stack_trace: str | None
    inner_failure: FailureDetails | None = None
    properties: dict[str, Any] | None = None

    def is_caused_by(self, error_type: str | type[BaseException]) -> bool:
        """Return True if this failure's own ``error_type`` is ``error_type``.

        As in 1.12.0 (and the .NET and Java SDKs): an exception *type* also matches its
        base classes (a ``builtins.KeyError`` failure is caused by ``LookupError`` and
        ``Exception``), looking only at subclasses already imported; a *name* matches by
        name, fully qualified or bare (two fully qualified names must be equal). Inner
        failures are not searched: use ``inner_failure.is_caused_by(...)`` for those.

        Raises:
            TypeError: ``error_type`` is neither an exception type nor a string.
        """
        if isinstance(error_type, str):
            return _name_matches(self.error_type, error_type)
        if not (isinstance(error_type, type) and issubclass(error_type, BaseException)):
            raise TypeError(
                "is_caused_by() expects an exception type or a type-name string, "
                f"but got {error_type!r}."
            )
        seen: set[int] = set()
        stack: list[type] = [error_type]
        while stack:
            candidate = stack.pop()
            if id(candidate) in seen:
                continue
            seen.add(id(candidate))
            if _type_matches(self.error_type, candidate):
                return True
            stack.extend(candidate.__subclasses__())
        return False


def _type_matches(stored: str, candidate: type) -> bool:
    if not stored:
        return False
    qualified = f"{candidate.__module__}.{candidate.__qualname__}"
    if stored == qualified:
        return True
    # A bare stored name (older SDKs, other languages) compares by the class name only.
    return "." not in stored and stored == qualified.rsplit(".", 1)[-1]


def _name_matches(stored: str, name: str) -> bool:
    if not stored or not name:
        return False
    if stored == name:
        return True
    if "." in stored and "." in name:
        return False  # same short name from different modules
    return stored.rsplit(".", 1)[-1] == name.rsplit(".", 1)[-1]


class TaskFailedError(DurableTaskError):
    """A task (activity or sub-orchestration) failed; ``details`` says how."""

    # str(exc) must stay the message, so only it goes to Exception; __reduce__ keeps pickling.
    def __init__(  # noqa: B042
        self, message: str, details: pb.TaskFailureDetails | Exception
    ) -> None:
        super().__init__(message)
        from durabletask.internal import failures

        if isinstance(details, pb.TaskFailureDetails):
            self._details = failures.failure_details_from_proto(details)
        else:
            self._details = failures.failure_details_from_proto(
                failures.failure_details_from_exception(details)
            )

    @property
    def details(self) -> FailureDetails:
        """The failure details of the task."""
        return self._details

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_task_failed_error, (type(self), str(self), self._details))


def _rebuild_task_failed_error(
    cls: type[TaskFailedError], message: str, details: FailureDetails
) -> TaskFailedError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error._details = details
    return error


class NonDeterminismError(DurableTaskError):
    """The orchestrator, on replay, did something other than what its history records.

    The message names the expected action (from history) and the actual one.
    """


class OrchestrationStateError(DurableTaskError):
    """The orchestration's history or state is invalid (e.g. an episode without events)."""


class TaskCancelledError(DurableTaskError):
    """The result of a task that was cancelled (``CancellableTask.cancel()``) was read."""


T = TypeVar("T")
TInput = TypeVar("TInput")
TOutput = TypeVar("TOutput")


class Task(ABC, Generic[T]):
    """A unit of work an orchestrator waits for by yielding (or, in ``async def``, awaiting) it.

    Tasks are created by the orchestration context (``call_activity``, ``create_timer``,
    ...) or combined with :func:`when_all` / :func:`when_any`; users do not complete them.
    """

    def __init__(self) -> None:
        self._is_complete = False
        self._result: Any = None
        self._exception: Exception | None = None
        self._parents: list[CompositeTask[Any]] = []

    @property
    def is_complete(self) -> bool:
        """True once the task has a result, a failure, or was cancelled."""
        return self._is_complete

    @property
    def is_failed(self) -> bool:
        """True if the task completed with a failure."""
        return self._exception is not None

    @property
    def result(self) -> T:
        """The task's result; the same as calling ``get_result``."""
        return self.get_result()

    def get_result(self) -> T:
        """Return the task's result.

        Raises:
            ValueError: The task has not completed yet.
            TaskFailedError: The task failed (the exception carries the failure details).
        """
        if not self._is_complete:
            raise ValueError("The task has not completed yet: yield or await it first.")
        if self._exception is not None:
            raise self._exception
        return self._result

    def get_exception(self) -> Exception:
        """Return the exception of a failed task.

        Raises:
            ValueError: The task has not failed.
        """
        if self._exception is None:
            raise ValueError("The task has not failed.")
        return self._exception

    def __await__(self) -> Generator[Task[T], Any, T]:
        """Wait for the task in an ``async def`` orchestrator: the same as yielding it."""
        return (yield self)

    def _settle(self, result: Any, exception: Exception | None) -> None:
        self._result = result
        self._exception = exception
        self._is_complete = True
        for parent in self._parents:
            parent._on_child_settled(self)


class CompletableTask(Task[T]):
    """A task completed by the runtime with a result or a failure.

    Args:
        expected_type: The type the result is converted to (``return_type``), if any.
    """

    def __init__(self, expected_type: type | None = None) -> None:
        super().__init__()
        self._expected_type = expected_type

    @property
    def expected_type(self) -> type | None:
        """The type the task's serialised result is converted to, if any."""
        return self._expected_type

    def complete(self, result: T) -> None:
        """Complete the task with ``result`` and notify tasks that wait on it.

        Raises:
            ValueError: The task has already completed.
        """
        if self._is_complete:
            raise ValueError("The task has already completed.")
        self._settle(result, None)

    def fail(self, message: str, details: Exception | pb.TaskFailureDetails) -> None:
        """Fail the task with a ``TaskFailedError(message, details)``.

        Raises:
            ValueError: The task has already completed.
        """
        if self._is_complete:
            raise ValueError("The task has already completed.")
        self._settle(None, TaskFailedError(message, details))


class CancellableTask(CompletableTask[T]):
    """A task the orchestrator may give up on (timers and external-event waits)."""

    def __init__(self, expected_type: type | None = None) -> None:
        super().__init__(expected_type)
        self._is_cancelled = False
        self._cancel_handler: Callable[[], None] | None = None

    @property
    def is_cancelled(self) -> bool:
        """True if :meth:`cancel` cancelled the task."""
        return self._is_cancelled

    def get_result(self) -> T:
        """Return the result; raises ``TaskCancelledError`` if the task was cancelled."""
        if self._is_cancelled:
            raise TaskCancelledError("The task was cancelled before it completed.")
        return super().get_result()

    def set_cancel_handler(self, cancel_handler: Callable[[], None]) -> None:
        """Register ``cancel_handler``, called once when the task is cancelled."""
        self._cancel_handler = cancel_handler

    def cancel(self) -> bool:
        """Cancel the task if it has not completed.

        Returns:
            True if the task was cancelled, False if it had already completed.
        """
        if self._is_complete:
            return False
        self._is_cancelled = True
        if self._cancel_handler is not None:
            self._cancel_handler()
        self._settle(None, None)
        return True


class TimerTask(CancellableTask[None]):
    """A durable timer; long timers fire in several chunks but complete once.

    Args:
        final_fire_at: When the timer completes (naive UTC).
        maximum_timer_interval: The longest single timer the backend is asked for.
    """

    def __init__(
        self,
        final_fire_at: datetime | None = None,
        maximum_timer_interval: timedelta | None = None,
    ) -> None:
        super().__init__()
        self._final_fire_at = final_fire_at
        self._maximum_timer_interval = maximum_timer_interval
        self._retryable_parent: RetryableTask[Any] | None = None

    @property
    def final_fire_at(self) -> datetime | None:
        """When the timer completes (naive UTC)."""
        return self._final_fire_at

    @property
    def maximum_timer_interval(self) -> timedelta | None:
        """The longest single chunk of this timer, or None for no limit."""
        return self._maximum_timer_interval

    @property
    def retryable_parent(self) -> RetryableTask[Any] | None:
        """The retrying task this timer delays, if it is a retry backoff timer."""
        return self._retryable_parent

    def set_retryable_parent(self, retryable_task: RetryableTask[Any]) -> None:
        """Mark this timer as the backoff delay before ``retryable_task``'s next attempt."""
        self._retryable_parent = retryable_task


class RetryableTask(CompletableTask[T]):
    """An activity or sub-orchestration call that is retried under a ``RetryPolicy``.

    Args:
        retry_policy: The policy that decides delays and the number of attempts.
        action: The scheduling action, re-emitted (same id) for every attempt.
        start_time: The orchestration time of the first attempt.
        is_sub_orch: True for a sub-orchestration call.
        expected_type: The type the result is converted to, if any.
        clock: Returns the orchestration's current time; ``retry_timeout`` is measured
            with it. Without a clock the timeout never expires.
    """

    def __init__(
        self,
        retry_policy: RetryPolicy,
        action: pb.OrchestratorAction,
        start_time: datetime,
        is_sub_orch: bool,
        expected_type: type | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(expected_type)
        self._retry_policy = retry_policy
        self._action = action
        self._start_time = start_time
        self._is_sub_orch = is_sub_orch
        self._clock = clock
        self._attempt_count = 1

    @property
    def retry_policy(self) -> RetryPolicy:
        """The retry policy."""
        return self._retry_policy

    @property
    def action(self) -> pb.OrchestratorAction:
        """The scheduling action re-emitted for each attempt."""
        return self._action

    @property
    def is_sub_orch(self) -> bool:
        """True for a sub-orchestration call, False for an activity."""
        return self._is_sub_orch

    @property
    def attempt_count(self) -> int:
        """The number of the current attempt, starting at 1."""
        return self._attempt_count

    def increment_attempt_count(self) -> None:
        """Count one more attempt."""
        self._attempt_count += 1

    def compute_next_delay(self) -> timedelta | None:
        """Return the delay before the next attempt, or None when retries are exhausted."""
        policy = self._retry_policy
        if self._attempt_count >= policy.max_number_of_attempts:
            return None
        coefficient = policy.backoff_coefficient or 1.0
        seconds = policy.first_retry_interval.total_seconds() * math.pow(
            coefficient, self._attempt_count - 1
        )
        if policy.max_retry_interval is not None:
            seconds = min(seconds, policy.max_retry_interval.total_seconds())
        delay = timedelta(seconds=seconds)
        if policy.retry_timeout is not None and self._clock is not None:
            # On the orchestration clock (deterministic under replay): no attempt starts
            # after the timeout. 1.12.0 reads the wall clock here, which in effect gives
            # the same count of attempts; see docs/compatibility.md.
            if self._clock() + delay >= self._start_time + policy.retry_timeout:
                return None
        return delay


class CompositeTask(Task[T]):
    """A task made of other tasks; completes according to :meth:`on_child_completed`."""

    def __init__(self, tasks: Sequence[Task[Any]]) -> None:
        super().__init__()
        self._tasks = list(tasks)
        self._completed_tasks = 0
        for task in self._tasks:
            task._parents.append(self)
        for task in self._tasks:
            if task.is_complete:
                self._on_child_settled(task)

    def get_tasks(self) -> list[Task[Any]]:
        """Return the child tasks, in the order they were given."""
        return list(self._tasks)

    def _on_child_settled(self, task: Task[Any]) -> None:
        self._completed_tasks += 1
        if not self._is_complete:
            self.on_child_completed(task)

    @abstractmethod
    def on_child_completed(self, task: Task[Any]) -> None:
        """React to ``task`` (one of the children) completing."""


def _failure_of(task: Task[Any]) -> Exception | None:
    if isinstance(task, CancellableTask) and task.is_cancelled:
        return TaskCancelledError("A task given to when_all was cancelled.")
    return task._exception


class WhenAllTask(CompositeTask[list[T]]):
    """Completes when every child completes; its result is the list of child results."""

    def __init__(self, tasks: Sequence[Task[T]]) -> None:
        self._first_failure: Exception | None = None
        super().__init__(tasks)
        if not self._tasks:
            self._settle([], None)

    @property
    def pending_tasks(self) -> int:
        """The number of children that have not completed yet."""
        return len(self._tasks) - self._completed_tasks

    def get_completed_tasks(self) -> int:
        """Return the number of children that have completed."""
        return self._completed_tasks

    def on_child_completed(self, task: Task[Any]) -> None:
        """Record ``task``; once all children are done, complete or raise the first failure."""
        if self._first_failure is None:
            self._first_failure = _failure_of(task)
        if self._completed_tasks < len(self._tasks):
            return
        if self._first_failure is not None:
            self._settle(None, self._first_failure)
        else:
            self._settle([child._result for child in self._tasks], None)


class WhenAnyTask(CompositeTask[Task[Any]]):
    """Completes when the first child completes; its result is that child task."""

    def on_child_completed(self, task: Task[Any]) -> None:
        """Complete with ``task`` as the winner (later children are ignored)."""
        self._settle(task, None)


def when_all(tasks: list[Task[T]]) -> WhenAllTask[T]:
    """Return a task that waits for all ``tasks``.

    Its result lists the children's results in input order. If any child failed, yielding
    it raises the first failure once every child has completed.
    """
    return WhenAllTask(tasks)


def when_any(tasks: Sequence[Task[Any]]) -> WhenAnyTask:
    """Return a task that completes when the first of ``tasks`` completes.

    Its result is the winning task; the other tasks are not cancelled.

    Raises:
        ValueError: ``tasks`` is empty (the task could never complete).
    """
    if not tasks:
        raise ValueError("when_any() needs at least one task; an empty list never completes.")
    return WhenAnyTask(tasks)


class RetryPolicy:
    """How a failed activity or sub-orchestration is retried, with durable timers between.

    Args:
        first_retry_interval: Delay before the first retry (>= 0).
        max_number_of_attempts: Total attempts, including the first (>= 1).
        backoff_coefficient: Multiplier applied to the delay after each retry (>= 1).
        max_retry_interval: Upper bound on a single delay (>= 0), or None.
        retry_timeout: Stop retrying once this much orchestration time has passed since the
            first attempt (>= 0), or None.

    Raises:
        ValueError: A parameter is outside its range; the message names it.
    """

    def __init__(
        self,
        *,
        first_retry_interval: timedelta,
        max_number_of_attempts: int,
        backoff_coefficient: float | None = 1.0,
        max_retry_interval: timedelta | None = None,
        retry_timeout: timedelta | None = None,
    ) -> None:
        zero = timedelta(0)
        if first_retry_interval < zero:
            raise ValueError("first_retry_interval must be >= 0")
        if max_number_of_attempts < 1:
            raise ValueError("max_number_of_attempts must be >= 1")
        if backoff_coefficient is not None and backoff_coefficient < 1:
            raise ValueError("backoff_coefficient must be >= 1")
        if max_retry_interval is not None and max_retry_interval < zero:
            raise ValueError("max_retry_interval must be >= 0")
        if retry_timeout is not None and retry_timeout < zero:
            raise ValueError("retry_timeout must be >= 0")
        self._first_retry_interval = first_retry_interval
        self._max_number_of_attempts = max_number_of_attempts
        self._backoff_coefficient = backoff_coefficient
        self._max_retry_interval = max_retry_interval
        self._retry_timeout = retry_timeout

    @property
    def first_retry_interval(self) -> timedelta:
        """Delay before the first retry."""
        return self._first_retry_interval

    @property
    def max_number_of_attempts(self) -> int:
        """Total number of attempts, including the first."""
        return self._max_number_of_attempts

    @property
    def backoff_coefficient(self) -> float | None:
        """Multiplier applied to the delay after each retry."""
        return self._backoff_coefficient

    @property
    def max_retry_interval(self) -> timedelta | None:
        """Upper bound on a single retry delay."""
        return self._max_retry_interval

    @property
    def retry_timeout(self) -> timedelta | None:
        """Orchestration time after the first attempt when retrying stops."""
        return self._retry_timeout


class ActivityContext:
    """What an activity knows about its invocation.

    Args:
        orchestration_id: The instance id of the orchestration that called the activity.
        task_id: The id of the scheduling action (unique within the orchestration).
    """

    def __init__(self, orchestration_id: str, task_id: int) -> None:
        self._orchestration_id = orchestration_id
        self._task_id = task_id

    @property
    def orchestration_id(self) -> str:
        """The instance id of the calling orchestration."""
        return self._orchestration_id

    @property
    def task_id(self) -> int:
        """The task id of this activity call within the orchestration."""
        return self._task_id


class ReplaySafeLogger(logging.LoggerAdapter):
    """A logger adapter that is silent while the orchestration replays its history.

    Args:
        logger: The logger records go to.
        is_replaying: Returns True while the orchestration is replaying.
    """

    def __init__(self, logger: logging.Logger, is_replaying: Callable[[], bool]) -> None:
        super().__init__(logger, {})
        self._is_replaying = is_replaying

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 - logging's own name
        """Return False while replaying, else whether the logger handles ``level``."""
        if self._is_replaying():
            return False
        return bool(self.logger.isEnabledFor(level))


class OrchestrationContext(ABC):
    """The orchestrator's view of its instance: the only door to time, tasks and events.

    Orchestrators must be deterministic: use this context for the time, ids, timers,
    activities and events, never the wall clock, random numbers or I/O.
    """

    @property
    @abstractmethod
    def instance_id(self) -> str:
        """The id of this orchestration instance."""

    @property
    @abstractmethod
    def version(self) -> str | None:
        """The version the orchestration was started with, if any."""

    @property
    @abstractmethod
    def parent_instance_id(self) -> str | None:
        """The parent's instance id for a sub-orchestration, else None."""

    @property
    @abstractmethod
    def current_utc_datetime(self) -> datetime:
        """The orchestration's current time (naive UTC), deterministic across replays."""

    @property
    @abstractmethod
    def is_replaying(self) -> bool:
        """True while the orchestrator is replaying events it has already seen."""

    @abstractmethod
    def set_custom_status(self, custom_status: Any) -> None:
        """Set a value clients can read as the orchestration's custom status."""

    @abstractmethod
    def create_timer(self, fire_at: datetime | timedelta) -> TimerTask:
        """Return a durable timer firing at ``fire_at`` (a time, or a delay from now)."""

    @abstractmethod
    def call_activity(
        self,
        activity: Activity[TInput, TOutput] | str,
        *,
        input: TInput | None = None,
        retry_policy: RetryPolicy | None = None,
        tags: dict[str, str] | None = None,
        return_type: type | None = None,
    ) -> CompletableTask[TOutput]:
        """Schedule an activity and return a task for its result."""

    def call_entity(
        self,
        entity: EntityInstanceId,
        operation: str,
        input: Any = None,
        *,
        return_type: type | None = None,
    ) -> CompletableTask[Any]:
        """Call an entity operation and return a task for its result.

        Raises:
            NotImplementedError: Entities are not supported by this runtime.
        """
        raise NotImplementedError("entities are not supported yet")

    def signal_entity(
        self,
        entity_id: EntityInstanceId,
        operation_name: str,
        input: Any = None,
        signal_time: datetime | None = None,
    ) -> None:
        """Send a one-way operation to an entity.

        Raises:
            NotImplementedError: Entities are not supported by this runtime.
        """
        raise NotImplementedError("entities are not supported yet")

    def lock_entities(self, entities: list[EntityInstanceId]) -> CompletableTask[EntityLock]:
        """Return a task that acquires locks on ``entities`` (a critical section).

        Raises:
            NotImplementedError: Entities are not supported by this runtime.
        """
        raise NotImplementedError("entities are not supported yet")

    @property
    def is_inside_critical_section(self) -> bool:
        """True inside a ``lock_entities`` critical section (an addition to the official API)."""
        return False

    @abstractmethod
    def call_sub_orchestrator(
        self,
        orchestrator: Orchestrator[TInput, TOutput] | str,
        *,
        input: TInput | None = None,
        instance_id: str | None = None,
        retry_policy: RetryPolicy | None = None,
        version: str | None = None,
        return_type: type | None = None,
    ) -> CompletableTask[TOutput]:
        """Start a sub-orchestration and return a task for its result."""

    @abstractmethod
    def wait_for_external_event(
        self, name: str, *, data_type: type | None = None
    ) -> CancellableTask[Any]:
        """Return a task completed by the next external event called ``name``."""

    def send_event(self, instance_id: str, event_name: str, *, data: Any = None) -> None:
        """Raise event ``event_name`` on another orchestration instance.

        Raises:
            NotImplementedError: This context does not support sending events.
        """
        raise NotImplementedError("send_event is not supported by this orchestration context")

    @abstractmethod
    def continue_as_new(
        self, new_input: Any, *, save_events: bool = False, new_version: str | None = None
    ) -> None:
        """Restart the orchestration with ``new_input`` and a fresh history."""

    @abstractmethod
    def new_uuid(self) -> str:
        """Return a UUID string that is the same on every replay."""

    def create_replay_safe_logger(self, logger: logging.Logger) -> ReplaySafeLogger:
        """Wrap ``logger`` so it stays silent while the orchestration replays."""
        return ReplaySafeLogger(logger, lambda: self.is_replaying)


Orchestrator = Callable[
    [OrchestrationContext, TInput], Union[Generator[Task[Any], Any, TOutput], TOutput]
]
"""An orchestrator: ``(ctx, input)`` returning a generator of tasks, a coroutine or a value."""

Activity = Callable[[ActivityContext, TInput], TOutput]
"""An activity function: ``(ctx, input) -> output``."""

Entity = Union[Callable[["EntityContext", TInput], TOutput], type["DurableEntity"]]
"""An entity: a function ``(ctx, input)`` or a ``DurableEntity`` subclass."""


def get_name(fn: Callable[..., Any]) -> str:
    """Return the name a function is registered under (its ``__name__``).

    Raises:
        ValueError: ``fn`` is a lambda or has no name; register a named function.
    """
    name = getattr(fn, "__name__", None)
    if not name or name == "<lambda>":
        raise ValueError(
            f"Cannot infer a name from {fn!r}: lambdas and unnamed callables cannot be "
            "registered; use a named function."
        )
    return str(name)


def get_entity_name(fn: Any) -> str:
    """Return an entity's name: ``__durable_entity_name__``, a class name, or the function's.

    Raises:
        ValueError: No name can be inferred (e.g. a lambda).
    """
    explicit = getattr(fn, "__durable_entity_name__", None)
    if explicit:
        return str(explicit)
    if isinstance(fn, type):
        return fn.__name__
    return get_name(fn)
