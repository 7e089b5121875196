"""Long-poll timeouts: any positive number of seconds works, nonsense is refused before a call."""

from __future__ import annotations

import math

import pytest

from durabletask import client
from durabletask.client import OrchestrationStatus
from durabletask.testing import InMemoryOrchestrationBackend
from tests.durabletask.client.raw_worker import RawWorker

# 1e10 s once overflowed gRPC's deadline arithmetic (past year 2262) and timed out at once.
HUGE_TIMEOUTS = [1e10, 1e300, math.inf, None]
BAD_TIMEOUTS = [math.nan, 0, -1, "60", True]


@pytest.fixture
def completed(sidecar: InMemoryOrchestrationBackend, dt_client: client.TaskHubGrpcClient) -> str:
    with RawWorker(sidecar.address):
        instance_id = dt_client.schedule_new_orchestration("echo", input=1)
        state = dt_client.wait_for_orchestration_completion(instance_id, timeout=10)
    assert state is not None
    assert state.runtime_status is OrchestrationStatus.COMPLETED
    return instance_id


@pytest.mark.parametrize("timeout", HUGE_TIMEOUTS)
def test_a_huge_timeout_waits_instead_of_timing_out_at_once(
    dt_client: client.TaskHubGrpcClient, completed: str, timeout: float | None,
) -> None:
    for wait in (dt_client.wait_for_orchestration_start,
                 dt_client.wait_for_orchestration_completion):
        state = wait(completed, timeout=timeout)
        assert state is not None
        assert state.runtime_status is OrchestrationStatus.COMPLETED


@pytest.mark.parametrize("timeout", BAD_TIMEOUTS)
def test_a_timeout_that_is_not_a_positive_number_is_a_value_error(
    dt_client: client.TaskHubGrpcClient, completed: str, timeout: object,
) -> None:
    for wait in (dt_client.wait_for_orchestration_start,
                 dt_client.wait_for_orchestration_completion):
        with pytest.raises(ValueError, match="timeout must be > 0 seconds"):
            wait(completed, timeout=timeout)  # type: ignore[arg-type]


async def test_the_async_client_takes_the_same_timeouts(
    sidecar: InMemoryOrchestrationBackend, completed: str,
) -> None:
    async with client.AsyncTaskHubGrpcClient(host_address=sidecar.address) as c:
        state = await c.wait_for_orchestration_completion(completed, timeout=1e10)
        assert state is not None
        assert state.runtime_status is OrchestrationStatus.COMPLETED
        with pytest.raises(ValueError, match="timeout must be > 0 seconds"):
            await c.wait_for_orchestration_start(completed, timeout=math.nan)
