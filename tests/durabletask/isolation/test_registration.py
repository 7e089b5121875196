"""What can be registered for process isolation: only functions a spawned child can import."""

from __future__ import annotations

import pytest

from durabletask import worker
from durabletask.worker import ProcessIsolationOptions, ShutdownOptions
from tests.durabletask.isolation import acts


def test_module_level_functions_are_accepted_under_their_name_or_a_given_one():
    w = worker.TaskHubGrpcWorker(host_address="127.0.0.1:1")
    assert w.add_activity(acts.whoami, isolation="process") == "whoami"
    assert w.add_activity(acts.whoami, "whoami_again", isolation="process") == "whoami_again"
    assert w.add_activity(acts.whoami_async, isolation="process") == "whoami_async"


def test_lambdas_closures_and_callable_objects_are_rejected_with_the_fix():
    w = worker.TaskHubGrpcWorker(host_address="127.0.0.1:1")

    def nested(ctx, value):
        return value

    for fn in (lambda ctx, value: value, nested, acts.Callable()):
        with pytest.raises(TypeError, match="top level of a module"):
            w.add_activity(fn, "candidate", isolation="process")
    # Nothing half-registered: the name is still free.
    assert w.add_activity(nested, "candidate") == "candidate"


def test_the_worker_default_applies_to_activities_without_an_isolation():
    w = worker.TaskHubGrpcWorker(host_address="127.0.0.1:1", activity_isolation="process")

    def nested(ctx, value):
        return value

    with pytest.raises(TypeError, match="top level of a module"):
        w.add_activity(nested)
    assert w.add_activity(nested, isolation="thread") == "nested"


def test_unknown_isolation_and_bad_options_are_refused():
    w = worker.TaskHubGrpcWorker(host_address="127.0.0.1:1")
    with pytest.raises(ValueError, match="'thread' or 'process'"):
        w.add_activity(acts.whoami, isolation="fiber")
    with pytest.raises(ValueError, match="'thread' or 'process'"):
        worker.TaskHubGrpcWorker(host_address="127.0.0.1:1", activity_isolation="fork")
    with pytest.raises(ValueError, match="max_tasks_per_child"):
        ProcessIsolationOptions(max_tasks_per_child=0)
    with pytest.raises(ValueError, match="grace_seconds"):
        ShutdownOptions(grace_seconds=-1)
