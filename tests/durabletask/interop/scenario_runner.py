"""Drives kitchen-sink scenarios through a client of either SDK and records JSON-able outcomes.

This file is loaded by path by both our interpreter and the official SDK's
interpreter, so it uses only the standard library and the client methods that
both SDKs share (duck-typed: no SDK import here).
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

# Generous: under load on 2 cores the slowest scenario (retries with timers) takes ~1 s.
WAIT_TIMEOUT_SECONDS = 30.0
MISSING = "MISSING"


class _Unchecked:
    """Marks an expectation that the scenario does not assert."""

    def __repr__(self) -> str:
        return "UNCHECKED"


UNCHECKED: Any = _Unchecked()


def load_sibling(relative_path: str, module_name: str) -> ModuleType:
    """Loads a module by file path relative to this file, once per interpreter.

    Args:
        relative_path: Path of the module file, relative to this file's directory.
        module_name: Name to register the module under in ``sys.modules``.

    Returns:
        The loaded module.
    """
    if module_name in sys.modules:
        return sys.modules[module_name]
    path = (Path(__file__).parent / relative_path).resolve()
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path} as {module_name}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


poll_until = load_sibling("../helpers/wait.py", "durabletask_interop_wait").poll_until


@dataclass(frozen=True)
class Step:
    """One client action of a scenario, applied to the scenario's instance or a relative.

    Attributes:
        kind: What to do: ``raise_event``, ``suspend``, ``resume``, ``terminate``,
            ``purge``, ``rewind``, ``wait_status``, ``observe_status`` or ``wait_terminal``.
        target: Suffix appended to the scenario's instance id (``""`` is the
            instance itself, ``"-child"`` its sub-orchestration).
        name: Event name for ``raise_event``.
        data: Event payload, terminate output, or suspend/resume reason.
        status: Runtime status name awaited by ``wait_status``.
    """

    kind: str
    target: str = ""
    name: str | None = None
    data: Any = None
    status: str | None = None


@dataclass(frozen=True)
class Scenario:
    """One row of the kitchen-sink table: what to start, what to do, what must be observed.

    Attributes:
        name: Unique scenario name, also the instance id prefix.
        orchestrator: Orchestrator function to schedule.
        input: Orchestration input.
        steps: Client actions applied in order after scheduling.
        expected_status: Final runtime status name.
        expected_output: Final output (deserialised JSON).
        expected_error_type: ``failure_details.error_type`` of a failed instance.
        expected_inner_error_type: ``failure_details.inner_failure.error_type``.
        expected_message_part: Text the failure message must contain.
        expected_custom_status: Final custom status (deserialised JSON).
        expected_observations: Values recorded by observing steps, in order.
        exclusions: Target name -> reason the scenario cannot run there.
        start_in: Seconds until the scheduled start (``start_at``); None starts at once.
    """

    name: str
    orchestrator: Callable[..., Any]
    input: Any = None
    steps: tuple[Step, ...] = ()
    expected_status: str = "COMPLETED"
    expected_output: Any = None
    expected_error_type: str | None = None
    expected_inner_error_type: Any = UNCHECKED
    expected_message_part: str | None = None
    expected_custom_status: Any = None
    expected_observations: tuple[Any, ...] = ()
    exclusions: Mapping[str, str] = field(default_factory=dict)
    start_in: float | None = None


def raise_event(name: str, data: Any = None, target: str = "") -> Step:
    """Step: raise an external event."""
    return Step("raise_event", target=target, name=name, data=data)


def suspend(reason: str = "interop", target: str = "") -> Step:
    """Step: suspend the instance."""
    return Step("suspend", target=target, data=reason)


def resume(reason: str = "interop", target: str = "") -> Step:
    """Step: resume the instance."""
    return Step("resume", target=target, data=reason)


def terminate(output: Any = None, target: str = "") -> Step:
    """Step: terminate the instance (recursive, the client default)."""
    return Step("terminate", target=target, data=output)


def purge(target: str = "") -> Step:
    """Step: purge the instance (recursive, the client default); records the deleted count."""
    return Step("purge", target=target)


def rewind(reason: str = "interop", target: str = "") -> Step:
    """Step: rewind the (failed) instance."""
    return Step("rewind", target=target, data=reason)


def wait_status(status: str, target: str = "") -> Step:
    """Step: poll until the instance has ``status``; records it."""
    return Step("wait_status", target=target, status=status)


def observe_status(target: str = "") -> Step:
    """Step: record the current status name, or ``MISSING`` when the instance is gone."""
    return Step("observe_status", target=target)


def wait_terminal(target: str = "") -> Step:
    """Step: wait for completion; the main instance's state becomes the scenario result."""
    return Step("wait_terminal", target=target)


def _decode(serialized: str | None) -> Any:
    return None if serialized is None or serialized == "" else json.loads(serialized)


class ScenarioRun:
    """Executes one scenario against a sidecar through ``client`` (either SDK's sync client)."""

    def __init__(self, client: Any, scenario: Scenario, instance_id: str) -> None:
        self._client = client
        self._scenario = scenario
        self._instance_id = instance_id
        self._final: Any = None
        self._observations: list[Any] = []

    def run(self) -> dict[str, Any]:
        """Schedules the instance, applies every step and returns the outcome dict."""
        started = time.monotonic()
        outcome: dict[str, Any] = {"name": self._scenario.name, "instance_id": self._instance_id}
        try:
            start_at = None
            if self._scenario.start_in is not None:
                start_at = datetime.now(timezone.utc) + timedelta(seconds=self._scenario.start_in)
            self._client.schedule_new_orchestration(
                self._scenario.orchestrator, input=self._scenario.input,
                instance_id=self._instance_id, start_at=start_at)
            for step in self._scenario.steps:
                self._apply(step)
            if self._final is None:
                self._final = self._wait_terminal(self._instance_id)
            outcome.update(describe_state(self._final))
            outcome["error"] = None
        except Exception as exc:  # reported as data so one broken scenario shows all the rest
            outcome["error"] = f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}"
        outcome["observations"] = self._observations
        outcome["seconds"] = round(time.monotonic() - started, 3)
        return outcome

    def _apply(self, step: Step) -> None:
        target = self._instance_id + step.target
        handler = getattr(self, f"_step_{step.kind}", None)
        if handler is None:
            raise ValueError(f"unknown step kind {step.kind!r} in {self._scenario.name}")
        handler(step, target)

    def _step_raise_event(self, step: Step, target: str) -> None:
        self._client.raise_orchestration_event(target, step.name, data=step.data)

    def _step_suspend(self, step: Step, target: str) -> None:
        self._client.suspend_orchestration(target, reason=step.data)

    def _step_resume(self, step: Step, target: str) -> None:
        self._client.resume_orchestration(target, reason=step.data)

    def _step_terminate(self, step: Step, target: str) -> None:
        self._client.terminate_orchestration(target, output=step.data)

    def _step_purge(self, step: Step, target: str) -> None:
        result = self._client.purge_orchestration(target)
        self._observations.append(result.deleted_instance_count)

    def _step_rewind(self, step: Step, target: str) -> None:
        self._client.rewind_orchestration(target, reason=step.data)

    def _step_wait_status(self, step: Step, target: str) -> None:
        def probe() -> str | None:
            state = self._client.get_orchestration_state(target)
            name = None if state is None else state.runtime_status.name
            return name if name == step.status else None

        self._observations.append(poll_until(
            probe, timeout=WAIT_TIMEOUT_SECONDS, message=f"{target} to be {step.status}"))

    def _step_observe_status(self, step: Step, target: str) -> None:
        state = self._client.get_orchestration_state(target)
        self._observations.append(MISSING if state is None else state.runtime_status.name)

    def _step_wait_terminal(self, step: Step, target: str) -> None:
        state = self._wait_terminal(target)
        if step.target:
            self._observations.append(state.runtime_status.name)
        else:
            self._final = state

    def _wait_terminal(self, instance_id: str) -> Any:
        state = self._client.wait_for_orchestration_completion(
            instance_id, timeout=WAIT_TIMEOUT_SECONDS)
        if state is None:
            raise LookupError(f"instance {instance_id} not found while waiting for completion")
        return state


def describe_state(state: Any) -> dict[str, Any]:
    """Turns either SDK's ``OrchestrationState`` into the JSON-able part of an outcome.

    Args:
        state: The final orchestration state.

    Returns:
        Status name, decoded output and custom status, and failure details.
    """
    failure = state.failure_details
    inner = None if failure is None else failure.inner_failure
    return {
        "status": state.runtime_status.name,
        "output": _decode(state.serialized_output),
        "custom_status": _decode(state.serialized_custom_status),
        "error_type": None if failure is None else failure.error_type,
        "error_message": None if failure is None else failure.message,
        "inner_error_type": None if inner is None else inner.error_type,
    }


def check_outcome(scenario: Scenario, outcome: Mapping[str, Any]) -> list[str]:
    """Compares an outcome with the scenario's expectations.

    Args:
        scenario: The scenario that produced the outcome.
        outcome: The dict returned by :meth:`ScenarioRun.run` (possibly via JSON).

    Returns:
        One human-readable line per mismatch; empty when everything matches.
    """
    if outcome.get("error"):
        return [f"{scenario.name}: runner error {outcome['error']}"]
    expected = {
        "status": scenario.expected_status,
        "output": scenario.expected_output,
        "custom_status": scenario.expected_custom_status,
        "error_type": scenario.expected_error_type,
        "inner_error_type": scenario.expected_inner_error_type,
        "observations": list(scenario.expected_observations),
    }
    problems = [
        f"{scenario.name}: {key} is {outcome.get(key)!r}, expected {want!r}"
        for key, want in expected.items()
        if want is not UNCHECKED and outcome.get(key) != want
    ]
    part = scenario.expected_message_part
    if part is not None and part not in (outcome.get("error_message") or ""):
        problems.append(
            f"{scenario.name}: error_message {outcome.get('error_message')!r} lacks {part!r}")
    return problems
