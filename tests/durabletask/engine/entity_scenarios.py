"""Entity orchestrations and the sidecar answers that drive them, episode by episode.

This module uses only the public API that the official SDK shares with ours
(``durabletask.task``, ``durabletask.entities``), so the very same code runs in both:
``golden_entities/record_official.py`` drives it through the OFFICIAL 1.12.0 executor (in
the official venv, in its own process) and records each episode's history and actions;
``test_entity_golden.py`` replays those histories through our engine and expects the same
actions. Each step answers the previous episode's actions:

* ``("start", input)``: the execution starts;
* ``("grant",)``: the pending lock request is granted;
* ``("complete", "@name@key", value)``: the pending call to that entity returns ``value``;
* ``("fail", "@name@key", message)``: the pending call to that entity fails.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from durabletask import task
from durabletask.entities import EntityInstanceId

A = EntityInstanceId("counter", "a")
B = EntityInstanceId("counter", "b")
C = EntityInstanceId("audit", "c")


def call_and_signal(ctx: task.OrchestrationContext, _: Any):
    ctx.signal_entity(C, "record", {"n": 1})
    ctx.signal_entity(C, "later", None, signal_time=ctx.current_utc_datetime + timedelta(
        minutes=5))
    value = yield ctx.call_entity(A, "get")
    empty = yield ctx.call_entity(A, "reset", 0)
    return [value, empty]


def critical_section(ctx: task.OrchestrationContext, _: Any):
    with (yield ctx.lock_entities([B, A, A])):
        first = yield ctx.call_entity(A, "add", 1)
        second = yield ctx.call_entity(B, "add", 2)
        ctx.signal_entity(C, "record", first + second)
    done = yield ctx.call_entity(A, "get")
    return done


def call_fails_handled(ctx: task.OrchestrationContext, _: Any):
    try:
        yield ctx.call_entity(A, "boom")
    except task.TaskFailedError as error:
        inner = error.details.inner_failure
        return [error.details.error_type, error.details.message,
                inner.error_type if inner else None, inner.message if inner else None]
    return "not failed"


def call_fails_unhandled(ctx: task.OrchestrationContext, _: Any):
    yield ctx.call_entity(A, "boom")


def fails_inside_critical_section(ctx: task.OrchestrationContext, _: Any):
    with (yield ctx.lock_entities([A, B])):
        yield ctx.call_entity(A, "get")
        raise ValueError("oops")


def continue_as_new_inside_critical_section(ctx: task.OrchestrationContext, round: int):
    with (yield ctx.lock_entities([A])):
        yield ctx.call_entity(A, "get")
        if round < 1:
            ctx.continue_as_new(round + 1)
            return None
    return round


def lock_without_with(ctx: task.OrchestrationContext, _: Any):
    yield ctx.lock_entities([B, A])
    value = yield ctx.call_entity(A, "get")
    return value


def breaks_a_critical_section_rule(ctx: task.OrchestrationContext, _: Any):
    with (yield ctx.lock_entities([A])):
        ctx.signal_entity(A, "add", 1)


def catches_critical_section_rule_errors(ctx: task.OrchestrationContext, _: Any):
    errors = []
    try:
        ctx.lock_entities([])
    except RuntimeError as error:
        errors.append(str(error))
    with (yield ctx.lock_entities([A])):
        for attempt in (lambda: ctx.signal_entity(A, "x"), lambda: ctx.call_entity(B, "x"),
                        lambda: ctx.lock_entities([B])):
            try:
                attempt()
            except RuntimeError as error:
                errors.append(str(error))
        pending = ctx.call_entity(A, "get")
        try:
            ctx.call_entity(A, "get")
        except RuntimeError as error:
            # Only the type: the official message is misleading here (see critical_section).
            errors.append(type(error).__name__)
        yield pending
    return errors


SCENARIOS: dict[str, tuple[Any, list[tuple[Any, ...]]]] = {
    "call_and_signal": (call_and_signal, [
        ("start", None), ("complete", str(A), 5), ("complete", str(A), None),
    ]),
    "critical_section": (critical_section, [
        ("start", None), ("grant",), ("complete", str(A), 1), ("complete", str(B), 2),
        ("complete", str(A), 3),
    ]),
    "call_fails_handled": (call_fails_handled, [("start", None), ("fail", str(A), "kaput")]),
    "call_fails_unhandled": (call_fails_unhandled, [
        ("start", None), ("fail", str(A), "kaput"),
    ]),
    "fails_inside_critical_section": (fails_inside_critical_section, [
        ("start", None), ("grant",), ("complete", str(A), 1),
    ]),
    "continue_as_new_inside_critical_section": (continue_as_new_inside_critical_section, [
        ("start", 0), ("grant",), ("complete", str(A), 1), ("start", 1), ("grant",),
        ("complete", str(A), 2),
    ]),
    "lock_without_with": (lock_without_with, [
        ("start", None), ("grant",), ("complete", str(A), 7),
    ]),
    "breaks_a_critical_section_rule": (breaks_a_critical_section_rule, [
        ("start", None), ("grant",),
    ]),
    "catches_critical_section_rule_errors": (catches_critical_section_rule_errors, [
        ("start", None), ("grant",), ("complete", str(A), 1),
    ]),
}
"""Scenario name -> (orchestrator, steps). ``("start", x)`` after a continue-as-new begins
the next execution with a fresh history."""
