"""An activity executor that runs the process-isolated activities in a :class:`ProcessPool`."""

from __future__ import annotations

from collections.abc import Mapping

from durabletask.internal.engine.activity import ActivityExecutor, ActivityOutcome
from durabletask.internal.runtime.isolation.options import FunctionRef
from durabletask.internal.runtime.isolation.pool import ProcessPool


class IsolatedActivities:
    """Runs activities named in ``isolated`` in ``pool``, the others with ``inner``.

    It has the executor interface the runner calls: a process-isolated activity is "async"
    to the runner, which awaits it on its loop; a thread of the pool's own waits on the
    child, so the worker's activity threads stay free for thread activities.
    """

    def __init__(self, inner: ActivityExecutor, pool: ProcessPool,
                 isolated: Mapping[str, FunctionRef]) -> None:
        self._inner = inner
        self._pool = pool
        self._isolated = dict(isolated)

    def is_async(self, name: str) -> bool:
        """True when activity ``name`` runs on the worker's loop."""
        return name in self._isolated or self._inner.is_async(name)

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
        """Run the activity in a child (if isolated) or on the loop.

        Raises:
            ActivityProcessLost: The child died before answering; abandon the work item.
        """
        ref = self._isolated.get(name)
        if ref is None:
            return await self._inner.execute_async(name, orchestration_id, task_id,
                                                   encoded_input)
        return await self._pool.run_async(ref, name, orchestration_id, task_id, encoded_input)
