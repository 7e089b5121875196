"""Drives one orchestration: feeds history events to handlers and steps the generator."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Coroutine, Generator, Iterable
from typing import Any

from durabletask import task
from durabletask.exception_properties import ExceptionPropertiesProvider
from durabletask.internal import failures
from durabletask.internal.engine import actions
from durabletask.internal.engine.context import RuntimeOrchestrationContext
from durabletask.internal.engine.events import BUFFERED_WHILE_SUSPENDED, HANDLERS
from durabletask.internal.engine.nondeterminism import ACTION_KIND_OF_EVENT
from durabletask.internal.engine.orchestrator_kinds import (
    not_a_task_message,
    unrunnable_result_message,
)
from durabletask.internal.engine.registry import (
    OrchestratorNotRegisteredError,
    Registry,
    describe_registered,
)
from durabletask.internal.engine.results import ExecutionResults
from durabletask.internal.engine.signatures import reconstructable, shape_of
from durabletask.internal.engine.trace_journal import TraceJournal
from durabletask.internal.engine.versioning import (
    VersionFailureStrategy,
    VersioningOptions,
    version_mismatch,
)
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.serialization import DataConverter

__all__ = ["AbandonWorkItem", "JsonEncodeOutputException", "OrchestrationRunner"]


class JsonEncodeOutputException(Exception):
    """The orchestrator's return value could not be serialised; the orchestration fails."""

    def __init__(self, problem_object: Any) -> None:
        super().__init__(problem_object)
        self.problem_object = problem_object

    def __str__(self) -> str:
        return (
            "The orchestration result could not be encoded by the data converter: "
            f"object of type {type(self.problem_object).__qualname__}: {self.problem_object!r}"
        )


class AbandonWorkItem(BaseException):  # noqa: N818 - a control-flow signal, not an error
    """Signals that the work item must be abandoned (versioning REJECT), not completed.

    It derives from ``BaseException`` so no ``except Exception`` can swallow it.
    """


_FINISHED = frozenset({pb.ORCHESTRATION_STATUS_FAILED, pb.ORCHESTRATION_STATUS_TERMINATED})


class OrchestrationRunner:
    """Owns one orchestration's generator, suspension state and completion.

    Events can be fed in several calls to :meth:`process`; :meth:`results` reports the
    actions produced so far.
    """

    def __init__(
        self,
        context: RuntimeOrchestrationContext,
        registry: Registry,
        *,
        data_converter: DataConverter,
        versioning: VersioningOptions | None,
        exception_properties_provider: ExceptionPropertiesProvider | None,
        logger: logging.Logger,
        journal: TraceJournal | None = None,
    ) -> None:
        self.context = context
        self.journal = journal
        self._registry = registry
        self._converter = data_converter
        self._versioning = versioning
        self._properties_provider = exception_properties_provider
        self.logger = logger
        # The running orchestrator: a generator, or the coroutine of an ``async def``.
        self._generator: Generator[Any, Any, Any] | Coroutine[Any, Any, Any] | None = None
        self._waiting_on: task.Task[Any] | None = None
        self.is_started = False
        self._completion: pb.OrchestratorAction | None = None
        self._is_suspended = False
        self._suspended_events: list[pb.HistoryEvent] = []

    @property
    def is_complete(self) -> bool:
        """True once a completion action (any final status) has been produced."""
        return self._completion is not None

    @property
    def completion(self) -> pb.OrchestratorAction | None:
        """The completion action (any final status), once produced."""
        return self._completion

    def process(self, events: Iterable[pb.HistoryEvent], *, replaying: bool) -> None:
        """Process ``events`` in order (``replaying`` marks them as past history).

        Raises:
            NonDeterminismError: History does not match what the code does.
            AbandonWorkItem: The work item must be abandoned.
        """
        self.context.set_replaying(replaying)
        for event in events:
            self.process_event(event)

    def process_event(self, event: pb.HistoryEvent) -> None:
        """Dispatch one event to its handler, buffering it while suspended."""
        kind = event.WhichOneof("eventType")
        if kind is None:
            return
        if self._is_suspended and kind in BUFFERED_WHILE_SUSPENDED:
            self._suspended_events.append(event)
            return
        if self._completion is not None:
            self._process_after_completion(kind, event)
            return
        if self.journal is not None:
            self.journal.observe(kind, event, self.context.is_replaying)
        handler = HANDLERS.get(kind)
        if handler is None:
            self.logger.debug("%s: ignoring history event %s", self.context.instance_id, kind)
            return
        handler(self, event)
        self.resume()

    def _process_after_completion(self, kind: str, event: pb.HistoryEvent) -> None:
        assert self._completion is not None
        status = self._completion.completeOrchestration.orchestrationStatus
        if status in _FINISHED:
            return
        if kind in ACTION_KIND_OF_EVENT:
            HANDLERS[kind](self, event)
        elif kind == "eventRaised" and status == pb.ORCHESTRATION_STATUS_CONTINUED_AS_NEW:
            # Events of this batch are consumed by the backend, so they must carry over.
            self.context.buffer_event(event)

    def suspend(self) -> None:
        """Start buffering orchestrator-driving events (``executionSuspended``)."""
        self._is_suspended = True

    def resume_execution(self) -> None:
        """Stop buffering and process the buffered events in order (``executionResumed``)."""
        if not self._is_suspended:
            return
        self._is_suspended = False
        buffered, self._suspended_events = self._suspended_events, []
        for event in buffered:
            self.process_event(event)

    def start(self, event: pb.HistoryEvent) -> None:
        """Run the orchestrator named by ``executionStarted``.

        Raises:
            OrchestratorNotRegisteredError: No orchestrator has that name.
            AbandonWorkItem: Its version is rejected (versioning REJECT).
        """
        if self.is_started:
            return
        self.is_started = True
        self.context.record_start(event)
        if self._rejects_version():
            return
        name = event.executionStarted.name
        fn = self._registry.get_orchestrator(name)
        if fn is None:
            raise OrchestratorNotRegisteredError(
                # Starts with 1.12.0's sentence; the rest says how to fix it.
                f"A '{name}' orchestrator was not registered. Registered "
                f"orchestrators: {describe_registered(self._registry.orchestrator_names)}. "
                "Register it with add_orchestrator() before starting the worker."
            )
        started = event.executionStarted
        encoded = started.input.value if started.HasField("input") else None
        try:
            shape = shape_of(fn)
            value = self._converter.deserialize(
                encoded, reconstructable(shape.input_type, self._converter))
            result = fn(self.context, value) if shape.takes_input else fn(self.context)
        except Exception as exc:  # the orchestrator's own failure fails the orchestration
            self.fail(exc)
            return
        # A generator and a coroutine are driven alike (send/throw): awaiting a task
        # yields it to this runner. Which one is decided by the object the call returned,
        # so a sync wrapper (a decorator) around an ``async def`` runs as well.
        if inspect.isgenerator(result) or inspect.iscoroutine(result):
            self._generator = result
            self._step(None, None)
        elif inspect.isasyncgen(result):
            self.fail(TypeError(unrunnable_result_message(name, result)))
        else:
            self._finish(result)

    def _rejects_version(self) -> bool:
        if self._versioning is None:
            return False
        reason = version_mismatch(self._versioning, self.context.version)
        if reason is None:
            return False
        if self._versioning.failure_strategy is VersionFailureStrategy.FAIL:
            details = pb.TaskFailureDetails(
                errorType="VersionMismatch", errorMessage=reason, isNonRetriable=True
            )
            self.fail_with_details(details)
            return True
        raise AbandonWorkItem(reason)

    def resume(self) -> None:
        """Continue the generator if the task it waits on has completed."""
        waiting = self._waiting_on
        if waiting is None or not waiting.is_complete or self._completion is not None:
            return
        self._waiting_on = None
        try:
            value = waiting.get_result()
        except Exception as exc:  # thrown into the orchestrator, which may catch it
            self._step(None, exc)
            return
        self._step(value, None)

    def _step(self, value: Any, error: Exception | None) -> None:
        generator = self._generator
        assert generator is not None
        while True:
            try:
                yielded = generator.send(value) if error is None else generator.throw(error)
            except StopIteration as stop:
                self._finish(stop.value)
                return
            except Exception as exc:  # an unhandled orchestrator error fails the orchestration
                self.fail(exc)
                return
            if self.context.continue_as_new_request is not None:
                self._finish(None)
                return
            if not isinstance(yielded, task.Task):
                self.fail(TypeError(not_a_task_message(generator, yielded)))
                return
            if not yielded.is_complete:
                self._waiting_on = yielded
                return
            value, error = None, None
            try:
                value = yielded.get_result()
            except Exception as exc:  # thrown into the orchestrator on the next turn
                error = exc

    def _finish(self, value: Any) -> None:
        # Entities still locked are unlocked before the completion (or continue-as-new).
        self.context.end_critical_section()
        request = self.context.continue_as_new_request
        if request is not None:
            self._complete(actions.new_complete_action(
                self.context.next_sequence_id(), pb.ORCHESTRATION_STATUS_CONTINUED_AS_NEW,
                request.encoded_input, new_version=request.new_version,
            ))
            return
        try:
            encoded = self._converter.serialize(value)
        except Exception as exc:  # unserialisable output fails the orchestration
            self.fail(_encode_error(value, exc))
            return
        self._complete(actions.new_complete_action(
            self.context.next_sequence_id(), pb.ORCHESTRATION_STATUS_COMPLETED, encoded
        ))

    def fail(self, error: BaseException, *, force: bool = False) -> None:
        """Fail the orchestration with ``error`` (``force`` replaces an earlier completion)."""
        details = failures.failure_details_from_exception(
            error, properties_provider=self._properties_provider
        )
        self.fail_with_details(details, force=force)

    def fail_with_details(self, details: pb.TaskFailureDetails, *, force: bool = False) -> None:
        """Fail the orchestration with ready-made failure details.

        The actions made before the failure are still sent, as the 1.12.0 worker sends
        them: an orchestrator that signals an entity and then raises (e.g. to report its
        own failure) does signal it.
        """
        if self._completion is not None and not force:
            return
        self.context.end_critical_section()
        self._completion = None
        self._complete(actions.new_complete_action(
            self.context.next_sequence_id(), pb.ORCHESTRATION_STATUS_FAILED, failure=details
        ))

    def terminate(self, encoded_output: str | None) -> None:
        """Complete as TERMINATED with ``encoded_output``, dropping pending actions."""
        if self._completion is not None:
            return
        self.context.discard_unsent_actions()
        self.context.end_critical_section()
        self._complete(actions.new_complete_action(
            self.context.next_sequence_id(), pb.ORCHESTRATION_STATUS_TERMINATED, encoded_output
        ))

    def _complete(self, action: pb.OrchestratorAction) -> None:
        if self._completion is None:
            self._completion = action
            self._waiting_on = None

    def results(self) -> ExecutionResults:
        """Return the unconfirmed actions followed by the completion action, if any."""
        produced = list(self.context.pending_actions())
        if self._completion is not None:
            produced.append(self._final_completion(self._completion))
        trace = None
        if self.journal is not None:
            self.journal.note_actions(produced, self.context.current_utc_datetime)
            trace = self.journal.record()
        if self._completion is not None:
            return ExecutionResults(produced, self.context.encoded_custom_status, trace=trace)
        awaited, unclaimed = self.context.event_waits()
        return ExecutionResults(produced, self.context.encoded_custom_status, trace=trace,
                                awaited_events=awaited, unclaimed_events=unclaimed)

    def _final_completion(self, completion: pb.OrchestratorAction) -> pb.OrchestratorAction:
        request = self.context.continue_as_new_request
        status = completion.completeOrchestration.orchestrationStatus
        if status != pb.ORCHESTRATION_STATUS_CONTINUED_AS_NEW or request is None:
            return completion
        if not request.save_events:
            return completion
        final = pb.OrchestratorAction()
        final.CopyFrom(completion)
        final.completeOrchestration.carryoverEvents.extend(self.context.carryover_events())
        return final


def _encode_error(value: Any, cause: Exception) -> JsonEncodeOutputException:
    error = JsonEncodeOutputException(value)
    error.__cause__ = cause
    return error
