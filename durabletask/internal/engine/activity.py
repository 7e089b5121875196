"""Runs activities: decode the input, call the user function, encode the outcome."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from durabletask import task
from durabletask.exception_properties import ExceptionPropertiesProvider
from durabletask.internal import failures
from durabletask.internal.engine.registry import (
    ActivityNotRegisteredError,
    Registry,
    describe_registered,
)
from durabletask.internal.engine.signatures import reconstructable, shape_of
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.serialization import DEFAULT_DATA_CONVERTER, DataConverter

__all__ = ["ActivityExecutor", "ActivityOutcome", "CoroutineRunner"]

CoroutineRunner = Callable[[Coroutine[Any, Any, Any]], Any]
"""Runs a coroutine to completion in the calling thread and returns its result."""


@dataclass
class ActivityOutcome:
    """The result of one activity execution: exactly one of the fields is set.

    Attributes:
        result: The serialised return value (None for a ``None`` result or on failure).
        failure: The failure details when the activity failed, else None.
    """

    result: str | None
    failure: pb.TaskFailureDetails | None


class ActivityExecutor:
    """Executes registered activities, sync or ``async def``; never raises.

    Args:
        registry: Where activities are looked up by name.
        data_converter: Decodes inputs and encodes results.
        exception_properties_provider: Adds properties to failure details.
        logger: Where failures are logged (default ``durabletask.activity``).
        run_coroutine: How :meth:`execute` runs the coroutine that an activity returned
            (an ``async def`` one, or a plain function returning a coroutine): the engine
            runs no event loop, its caller decides (the worker runtime passes
            ``asyncio.run``, a private loop in the calling thread). None: such an
            activity fails with ``TypeError`` under :meth:`execute`.
    """

    def __init__(
        self,
        registry: Registry,
        *,
        data_converter: DataConverter = DEFAULT_DATA_CONVERTER,
        exception_properties_provider: ExceptionPropertiesProvider | None = None,
        logger: logging.Logger | None = None,
        run_coroutine: CoroutineRunner | None = None,
    ) -> None:
        self._registry = registry
        self._run_coroutine = run_coroutine
        self._converter = data_converter
        self._properties_provider = exception_properties_provider
        self._logger = logger or logging.getLogger("durabletask.activity")

    def is_async(self, name: str) -> bool:
        """True when activity ``name`` is an ``async def`` function (False if unknown)."""
        fn = self._registry.get_activity(name)
        return fn is not None and shape_of(fn).is_async

    def execute(
        self, name: str, orchestration_id: str, task_id: int, encoded_input: str | None
    ) -> ActivityOutcome:
        """Run activity ``name`` in the calling thread and return its outcome.

        A coroutine the activity returns is run to completion by ``run_coroutine``;
        prefer :meth:`execute_async` for ``async def`` activities.
        """
        try:
            fn, args = self._prepare(name, orchestration_id, task_id, encoded_input)
            output = fn(*args)
            if inspect.iscoroutine(output):
                output = self._run(name, output)
            return ActivityOutcome(self._converter.serialize(output), None)
        except Exception as exc:  # the activity's failure is reported, never raised
            return self._failed(name, orchestration_id, task_id, exc)

    async def execute_async(
        self, name: str, orchestration_id: str, task_id: int, encoded_input: str | None
    ) -> ActivityOutcome:
        """Run activity ``name`` on the running loop (awaiting it if it is async)."""
        try:
            fn, args = self._prepare(name, orchestration_id, task_id, encoded_input)
            output = fn(*args)
            if inspect.iscoroutine(output):
                output = await output
            return ActivityOutcome(self._converter.serialize(output), None)
        except Exception as exc:  # the activity's failure is reported, never raised
            return self._failed(name, orchestration_id, task_id, exc)

    def _run(self, name: str, coroutine: Coroutine[Any, Any, Any]) -> Any:
        if self._run_coroutine is None:
            coroutine.close()  # never awaited, and nothing will
            raise TypeError(
                f"activity '{name}' returned a coroutine and this executor runs no event "
                "loop: call execute_async, or give the executor a run_coroutine"
            )
        return self._run_coroutine(coroutine)

    def _prepare(
        self, name: str, orchestration_id: str, task_id: int, encoded_input: str | None
    ) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        fn = self._registry.get_activity(name)
        if fn is None:
            raise ActivityNotRegisteredError(
                # Starts with 1.12.0's sentence; the rest says how to fix it.
                f"Activity function named '{name}' was not registered! Registered "
                f"activities: {describe_registered(self._registry.activity_names)}. "
                "Register it with add_activity() before starting the worker."
            )
        shape = shape_of(fn)
        context = task.ActivityContext(orchestration_id, task_id)
        if not shape.takes_input:
            return fn, (context,)
        input_type = reconstructable(shape.input_type, self._converter)
        return fn, (context, self._converter.deserialize(encoded_input, input_type))

    def _failed(
        self, name: str, orchestration_id: str, task_id: int, exc: Exception
    ) -> ActivityOutcome:
        self._logger.warning(
            "Activity '%s' (task %d of %s) failed: %s: %s",
            name, task_id, orchestration_id, type(exc).__name__, exc,
            extra={"activity": name, "instance_id": orchestration_id, "task_id": task_id},
        )
        details = failures.failure_details_from_exception(
            exc, properties_provider=self._properties_provider
        )
        return ActivityOutcome(None, details)
