"""Registry: names, duplicates and lookups."""

from __future__ import annotations

import pytest

from durabletask.internal.engine import (
    ActivityNotRegisteredError,
    EntityNotRegisteredError,
    OrchestratorNotRegisteredError,
    Registry,
)


def orchestrator(ctx, _):
    return None


def activity(ctx, _):
    return None


def test_registry_returns_names_and_looks_functions_up():
    registry = Registry()
    assert registry.add_orchestrator(orchestrator) == "orchestrator"
    assert registry.add_activity(activity) == "activity"
    assert registry.add_activity(activity, name="alias") == "alias"
    assert registry.get_orchestrator("orchestrator") is orchestrator
    assert registry.get_activity("alias") is activity
    assert registry.get_activity("Activity") is None
    assert registry.activity_names == ["activity", "alias"]
    assert registry.orchestrator_names == ["orchestrator"]


def test_registry_rejects_duplicates_and_unnamed_lambdas():
    registry = Registry()
    registry.add_orchestrator(orchestrator)
    with pytest.raises(ValueError, match="already registered"):
        registry.add_orchestrator(orchestrator)
    with pytest.raises(ValueError, match="lambda"):
        registry.add_activity(lambda ctx, _: None)


def test_registry_lower_cases_entity_names():
    class Counter:
        pass

    registry = Registry()
    # Official behaviour: add_entity returns the name as given; matching is lower-case.
    assert registry.add_entity(Counter) == "Counter"
    assert registry.get_entity("COUNTER") is Counter
    assert registry.entity_names == ["counter"]
    with pytest.raises(ValueError, match="already registered"):
        registry.add_entity(Counter, name="Counter")
    with pytest.raises(ValueError, match="must not contain '@'"):
        registry.add_entity(Counter, name="a@b")


def test_not_registered_errors_are_value_errors():
    for error in (OrchestratorNotRegisteredError, ActivityNotRegisteredError,
                  EntityNotRegisteredError):
        assert issubclass(error, ValueError)
