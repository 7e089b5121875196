"""Long timers, retry policies and versioning failures as the 1.12.0 worker produces them."""

from __future__ import annotations

from datetime import timedelta

from durabletask import task
from durabletask.worker import VersionFailureStrategy, VersioningOptions, VersionMatchStrategy
from tests.durabletask.engine import histories as h


def _fire_at(results):
    return [a.createTimer.fireAt.ToDatetime() for a in results.actions if a.HasField("createTimer")]


def test_a_long_timer_fires_once_per_chunk_of_the_maximum_interval():
    # 1.12.0 (test_orchestration_e2e::test_long_timer_chunking): a 5 s timer with a 2 s
    # maximum interval is three timers (0-2, 2-4, 4-5 s); each next chunk starts where its
    # predecessor ended (1.12.0 passes timerFired.fireAt to TimerTask._handle_timer_fired),
    # however late the episode that processes it runs.
    def orch(ctx, _):
        yield ctx.create_timer(timedelta(seconds=5))
        return "done"

    episodes = h.Episodes(h.new_executor([orch], maximum_timer_interval=timedelta(seconds=2)))
    assert _fire_at(episodes.run(h.execution_started("orch"))) == [h.after(2)]
    late = h.after(2.5)  # the timer fired, the episode ran half a second later
    assert _fire_at(episodes.run(h.timer_fired(1, h.after(2)), at=late)) == [h.after(4)]
    assert _fire_at(episodes.run(h.timer_fired(2, h.after(4)), at=h.after(4.5))) == [
        h.after(5)]
    assert h.output_of(episodes.run(h.timer_fired(3, h.after(5)), at=h.after(5))) == "done"


def _retrying(policy):
    def orch(ctx, _):
        return (yield ctx.call_activity("boom", retry_policy=policy))
    return orch


def _attempts_until_failure(policy, attempt_seconds: float = 0.1) -> int:
    """Play failures until the orchestration fails; return the number of attempts."""
    episodes = h.Episodes(h.new_executor([_retrying(policy)], maximum_timer_interval=None))
    episodes.run(h.execution_started("orch"))
    now, attempts, next_id = 0.0, 1, 2
    for _ in range(policy.max_number_of_attempts):  # bounded by the policy
        now += attempt_seconds
        results = episodes.run(h.task_failed(1, "Kah-BOOOOM!!!"), at=h.after(now))
        if not h.kinds(results) == ["createTimer"]:
            assert "Activity task #1 failed: Kah-BOOOOM!!!" in h.failure_of(results).errorMessage
            return attempts
        now = (results.actions[0].createTimer.fireAt.ToDatetime() - h.T0).total_seconds()
        retry = episodes.run(h.timer_fired(next_id, h.after(now)), at=h.after(now))
        assert h.kinds(retry) == ["scheduleTask"]
        assert retry.actions[0].id == 1  # 1.12.0: a retry reuses the action id
        attempts, next_id = attempts + 1, next_id + 1
    return attempts


def test_retry_policy_makes_max_number_of_attempts():
    # 1.12.0 (test_orchestration_e2e::test_retry_policies): 3 attempts, then the failure.
    policy = task.RetryPolicy(first_retry_interval=timedelta(seconds=1), max_number_of_attempts=3,
                              backoff_coefficient=1, retry_timeout=timedelta(seconds=30))
    assert _attempts_until_failure(policy) == 3


def test_no_retry_starts_after_the_retry_timeout():
    # 1.12.0 (test_orchestration_e2e::test_retry_timeout): delays 1+2+4 s, then the 8 s
    # delay would start attempt 5 after the 14 s timeout, so there are 4 attempts.
    policy = task.RetryPolicy(first_retry_interval=timedelta(seconds=1), max_number_of_attempts=5,
                              backoff_coefficient=2, max_retry_interval=timedelta(seconds=10),
                              retry_timeout=timedelta(seconds=14))
    assert _attempts_until_failure(policy) == 4


def simple(ctx, _):
    return None


def _versioned_failure(strategy: VersionMatchStrategy, version: str) -> str:
    options = VersioningOptions(version="1.0.0", match_strategy=strategy,
                                failure_strategy=VersionFailureStrategy.FAIL)
    results = h.new_executor([simple], versioning=options).execute(
        h.INSTANCE_ID, [], [h.orchestrator_started(), h.execution_started("simple",
                                                                          version=version)])
    details = h.failure_of(results)
    assert details.errorType == "VersionMismatch"
    assert details.isNonRetriable
    return details.errorMessage


def test_version_mismatch_messages_are_the_official_ones():
    # 1.12.0 (test_orchestration_versioning_e2e): the messages, word for word.
    assert _versioned_failure(VersionMatchStrategy.CURRENT_OR_OLDER, "1.1.0") == (
        "The orchestration version '1.1.0' is greater than the worker version '1.0.0'.")
    assert _versioned_failure(VersionMatchStrategy.STRICT, "0.9.0") == (
        "The orchestration version '0.9.0' does not match the worker version '1.0.0'.")
