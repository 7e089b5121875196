"""The engine's entry point: one orchestration episode, history in, actions out."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from durabletask.exception_properties import ExceptionPropertiesProvider
from durabletask.internal import failures
from durabletask.internal.engine import actions
from durabletask.internal.engine.context import RuntimeOrchestrationContext
from durabletask.internal.engine.registry import Registry
from durabletask.internal.engine.results import ExecutionResults
from durabletask.internal.engine.rewind import build_rewind_action, is_rewind_request
from durabletask.internal.engine.runner import AbandonWorkItem, OrchestrationRunner
from durabletask.internal.engine.trace_journal import TraceJournal
from durabletask.internal.engine.versioning import VersioningOptions
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.serialization import DEFAULT_DATA_CONVERTER, DataConverter
from durabletask.task import OrchestrationStateError

__all__ = ["DEFAULT_MAXIMUM_TIMER_INTERVAL", "OrchestrationExecutor"]

DEFAULT_MAXIMUM_TIMER_INTERVAL = timedelta(days=3)
"""Longest single durable timer; longer timers are chunked (the backends' common limit)."""


class OrchestrationExecutor:
    """Replays an orchestration's history through its orchestrator and returns the actions.

    Args:
        registry: Where orchestrators are looked up by name.
        data_converter: Serialises inputs, outputs, event data and custom status.
        maximum_timer_interval: Longest single timer; None disables chunking.
        versioning: The worker's versioning options, if any.
        exception_properties_provider: Adds properties to failure details.
        logger: Where the engine logs (default ``durabletask.engine``).
        record_traces: Keep a trace journal per orchestration (``ExecutionResults.trace``).
    """

    def __init__(
        self,
        registry: Registry,
        *,
        data_converter: DataConverter = DEFAULT_DATA_CONVERTER,
        maximum_timer_interval: timedelta | None = DEFAULT_MAXIMUM_TIMER_INTERVAL,
        versioning: VersioningOptions | None = None,
        exception_properties_provider: ExceptionPropertiesProvider | None = None,
        logger: logging.Logger | None = None,
        record_traces: bool = False,
    ) -> None:
        self._registry = registry
        self._record_traces = record_traces
        self._converter = data_converter
        self._maximum_timer_interval = maximum_timer_interval
        self._versioning = versioning
        self._properties_provider = exception_properties_provider
        self._logger = logger or logging.getLogger("durabletask.engine")

    def execute(
        self,
        instance_id: str,
        past_events: Sequence[pb.HistoryEvent],
        new_events: Sequence[pb.HistoryEvent],
    ) -> ExecutionResults:
        """Run one episode: replay ``past_events``, then process ``new_events``.

        Never raises: any failure becomes a FAILED ``completeOrchestration`` action, and a
        versioning REJECT returns ``ExecutionResults(abandon=True)`` without actions.
        """
        try:
            return self._execute(instance_id, past_events, new_events)
        except Exception as exc:  # the contract is "never raises": report, don't propagate
            self._logger.exception("%s: the orchestration episode failed", instance_id)
            details = failures.failure_details_from_exception(
                exc, properties_provider=self._properties_provider
            )
            action = actions.new_complete_action(
                -1, pb.ORCHESTRATION_STATUS_FAILED, failure=details
            )
            return ExecutionResults([action], None)

    def new_runner(self, instance_id: str) -> OrchestrationRunner:
        """Return a fresh runner for ``instance_id``, ready to be fed events."""
        default_version = self._versioning.default_version if self._versioning else None
        context = RuntimeOrchestrationContext(
            instance_id,
            data_converter=self._converter,
            maximum_timer_interval=self._maximum_timer_interval,
            default_sub_orchestration_version=default_version,
            logger=self._logger,
        )
        return OrchestrationRunner(
            context,
            self._registry,
            data_converter=self._converter,
            versioning=self._versioning,
            exception_properties_provider=self._properties_provider,
            logger=self._logger,
            journal=TraceJournal(instance_id) if self._record_traces else None,
        )

    def _execute(
        self,
        instance_id: str,
        past_events: Sequence[pb.HistoryEvent],
        new_events: Sequence[pb.HistoryEvent],
    ) -> ExecutionResults:
        if not new_events:
            raise OrchestrationStateError(
                f"The orchestration episode for '{instance_id}' has no new events; the "
                "sidecar must send at least an orchestratorStarted event."
            )
        if is_rewind_request(past_events, new_events):
            return ExecutionResults([build_rewind_action(instance_id, past_events)], None)
        return self.run_episode(self.new_runner(instance_id), past_events, new_events)

    def run_episode(
        self,
        runner: OrchestrationRunner,
        replay_events: Sequence[pb.HistoryEvent],
        new_events: Sequence[pb.HistoryEvent],
    ) -> ExecutionResults:
        """Feed ``replay_events`` (as replay) then ``new_events`` to ``runner``.

        ``runner`` may be fresh or one that already processed earlier history (the
        orchestration cache); either way the result is that of the whole history. Never
        raises.
        """
        instance_id = runner.context.instance_id
        try:
            runner.process(replay_events, replaying=True)
            runner.process(new_events, replaying=False)
        except AbandonWorkItem as signal:
            self._logger.info("%s: abandoning the work item: %s", instance_id, signal)
            return ExecutionResults([], None, abandon=True)
        except Exception as exc:  # nondeterminism, unknown orchestrator: fail the instance
            runner.fail(exc, force=True)
        if not runner.is_started and not runner.is_complete:
            runner.fail(OrchestrationStateError(
                f"The history of '{instance_id}' has no executionStarted event, so the "
                "orchestration cannot run."
            ))
        return runner.results()
