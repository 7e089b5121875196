"""Failure messages, error type names and FailureDetails.is_caused_by as in 1.12.0."""

from __future__ import annotations

import pytest

from durabletask import task, worker
from durabletask.internal.engine import ActivityExecutor, Registry
from tests.durabletask.engine import histories as h


def _calls_activity(ctx, _):
    return (yield ctx.call_activity("flaky"))


def _calls_child(ctx, _):
    return (yield ctx.call_sub_orchestrator("child"))


def test_activity_failure_message_names_the_task_number():
    # 1.12.0 (test_orchestration_e2e::test_retry_timeout): "<instance>: Activity task #N
    # failed: <message>", the activity's failure nested as the inner failure.
    episodes = h.Episodes(h.new_executor([_calls_activity]))
    episodes.run(h.execution_started("_calls_activity"))
    details = h.failure_of(episodes.run(h.task_failed(1, "Kah-BOOOOM!!!")))
    assert details.errorType == "durabletask.task.TaskFailedError"
    assert details.errorMessage == f"{h.INSTANCE_ID}: Activity task #1 failed: Kah-BOOOOM!!!"
    assert details.innerFailure.errorMessage == "Kah-BOOOOM!!!"


def test_sub_orchestration_failure_message_names_the_task_number():
    # 1.12.0 (test_orchestration_e2e::test_retry_policies): "Sub-orchestration task #N
    # failed: <message>".
    episodes = h.Episodes(h.new_executor([_calls_child]))
    episodes.run(h.execution_started("_calls_child"))
    details = h.failure_of(episodes.run(h.sub_orchestration_failed(1, "child broke")))
    assert details.errorMessage == "Sub-orchestration task #1 failed: child broke"


def test_unregistered_orchestrator_fails_with_the_official_type_name():
    # 1.12.0: errorType durabletask.worker.OrchestratorNotRegisteredError; the message
    # starts "A '<name>' orchestrator was not registered."
    results = h.new_executor([_calls_activity]).execute(h.INSTANCE_ID, [], [
        h.orchestrator_started(), h.execution_started("missing")])
    details = h.failure_of(results)
    assert details.errorType == "durabletask.worker.OrchestratorNotRegisteredError"
    assert details.errorMessage.startswith("A 'missing' orchestrator was not registered.")


def test_unregistered_activity_fails_with_the_official_type_name():
    # 1.12.0: errorType durabletask.worker.ActivityNotRegisteredError, message starting
    # "Activity function named '<name>' was not registered!"
    outcome = ActivityExecutor(Registry()).execute("missing", h.INSTANCE_ID, 1, None)
    assert outcome.failure is not None
    assert outcome.failure.errorType == "durabletask.worker.ActivityNotRegisteredError"
    assert outcome.failure.errorMessage.startswith(
        "Activity function named 'missing' was not registered!")


def test_not_registered_errors_are_the_worker_module_value_errors():
    # 1.12.0: the three classes live in durabletask.worker and subclass ValueError.
    for cls in (worker.OrchestratorNotRegisteredError, worker.ActivityNotRegisteredError,
                worker.EntityNotRegisteredError):
        assert cls.__module__ == "durabletask.worker"
        assert issubclass(cls, ValueError)


def _details(error_type: str) -> task.FailureDetails:
    return task.FailureDetails("m", error_type, None)


class _Base(Exception):
    pass


class _Derived(_Base):
    pass


def test_is_caused_by_a_type_matches_the_type_and_its_bases():
    # 1.12.0: type arguments are base-type aware (KeyError is caused by LookupError and
    # Exception), never by a more derived type; bare stored names compare by class name.
    assert _details("builtins.KeyError").is_caused_by(LookupError)
    assert _details("builtins.KeyError").is_caused_by(Exception)
    assert not _details("builtins.KeyError").is_caused_by(ValueError)
    assert not _details(f"{__name__}._Base").is_caused_by(_Derived)
    assert _details(f"{__name__}._Derived").is_caused_by(_Base)
    assert _details("FileNotFoundError").is_caused_by(OSError)
    assert _details("durabletask.worker.OrchestratorNotRegisteredError").is_caused_by(ValueError)


def test_is_caused_by_a_name_matches_qualified_or_bare_names():
    # 1.12.0: names match exactly or by their last segment, but two qualified names from
    # different modules never match; empty types match nothing.
    assert _details("builtins.ValueError").is_caused_by("ValueError")
    assert _details("ValueError").is_caused_by("builtins.ValueError")
    assert not _details("pkg_a.Foo").is_caused_by("pkg_b.Foo")
    assert not _details("").is_caused_by("ValueError")


def test_is_caused_by_looks_at_this_failure_only_and_checks_its_argument():
    # 1.12.0: inner failures are not searched; a non-exception argument is a TypeError.
    outer = task.FailureDetails("m", "durabletask.task.TaskFailedError", None,
                                inner_failure=_details("builtins.ValueError"))
    assert not outer.is_caused_by(ValueError)
    assert outer.inner_failure is not None
    assert outer.inner_failure.is_caused_by(ValueError)
    with pytest.raises(TypeError):
        outer.is_caused_by(int)  # type: ignore[arg-type]
