"""An activity executor that runs the process-isolated activities in a :class:`ProcessPool`."""

from __future__ import annotations

from collections.abc import Mapping

from durabletask.internal.engine.activity import ActivityExecutor, ActivityOutcome
from durabletask.internal.runtime.isolation.options import FunctionRef
from durabletask.internal.runtime.isolation.pool import ProcessPool


class IsolatedActivities:
    """Runs activities named in ``isolated`` in ``pool``, the others with ``inner``.

    It has the executor interface the runner calls: a process-isolated activity is never
    "async" to the runner, so it runs (waiting on its child) in the activity thread pool.
    """

    def __init__(self, inner: ActivityExecutor, pool: ProcessPool,
                 isolated: Mapping[str, FunctionRef]) -> None:
        self._inner = inner
        self._pool = pool
        self._isolated = dict(isolated)

    def is_async(self, name: str) -> bool:
        """True when activity ``name`` runs on the worker's loop."""
        return name not in self._isolated and self._inner.is_async(name)

    def execute(self, name: str, orchestration_id: str, task_id: int,
                encoded_input: str | None) -> ActivityOutcome:
        """Run the activity in a child (if isolated) or in the calling thread.

        Raises:
            ActivityProcessLost: The child died before answering; abandon the work item.
        """
        ref = self._isolated.get(name)
        if ref is None:
            return self._inner.execute(name, orchestration_id, task_id, encoded_input)
        return self._pool.run(ref, name, orchestration_id, task_id, encoded_input)

    async def execute_async(self, name: str, orchestration_id: str, task_id: int,
                            encoded_input: str | None) -> ActivityOutcome:
        """Run an ``async def`` thread-isolated activity on the loop."""
        return await self._inner.execute_async(name, orchestration_id, task_id, encoded_input)
