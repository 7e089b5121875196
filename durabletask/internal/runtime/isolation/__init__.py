"""Process-isolated activities: a pool of spawned children that never outlive the worker."""

from durabletask.internal.runtime.isolation.activities import IsolatedActivities
from durabletask.internal.runtime.isolation.options import (
    FunctionRef,
    ProcessIsolationOptions,
    check_isolation,
    function_ref,
)
from durabletask.internal.runtime.isolation.pool import ActivityProcessLost, ProcessPool
from durabletask.internal.runtime.isolation.reap import ReapSteps

__all__ = [
    "ActivityProcessLost",
    "FunctionRef",
    "IsolatedActivities",
    "ProcessIsolationOptions",
    "ProcessPool",
    "ReapSteps",
    "check_isolation",
    "function_ref",
]
